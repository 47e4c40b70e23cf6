"""A run ↔ plain JSON (the stored state); the format is the engine's own."""

from __future__ import annotations

from typing import Any

from streams.guides.domain.run import GuideRun, Note, StepResult


def run_to_json(run: GuideRun) -> dict[str, Any]:
    return {
        "contact_id": run.contact_id,
        "guide_id": run.guide_id,
        "version": run.version,
        "status": run.status,
        "current": run.current,
        "results": {
            step: {"status": r.status, "value": r.value, "reason": r.reason, "at": r.at}
            for step, r in sorted(run.results.items())
        },
        "bypassed": sorted(run.bypassed),
        "seq": run.seq,
        "notes": [
            {"step_id": n.step_id, "text": n.text, "at": n.at, "by": n.by} for n in run.notes
        ],
    }


def run_from_json(body: dict[str, Any]) -> GuideRun:
    return GuideRun(
        contact_id=str(body["contact_id"]),
        guide_id=str(body["guide_id"]),
        version=int(body["version"]),
        status=str(body["status"]),
        current=None if body["current"] is None else str(body["current"]),
        results={
            str(step): StepResult(str(r["status"]), r["value"], str(r["reason"]), float(r["at"]))
            for step, r in body["results"].items()
        },
        bypassed=frozenset(str(s) for s in body["bypassed"]),
        seq=int(body["seq"]),
        notes=tuple(
            Note(n["step_id"], str(n["text"]), float(n["at"]), n["by"])
            for n in body.get("notes", ())
        ),
    )
