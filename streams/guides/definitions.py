"""Guide files (deploy/guides/*.yaml or *.json) → checked guides. A file is checked against
``guide.schema.json`` and then by the engine (preconditions on earlier steps, branches to later
ones …); any fault stops the start with an error naming the file and the step."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from streams.guides.domain import Escalation, Guide, GuideError, Precondition, Step, Trigger

GUIDES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "guides"
SCHEMA_FILE = "guide.schema.json"


class GuideFileError(ValueError):
    """A guide file that cannot be used: the message starts with the file (and the step)."""


def load_guides(directory: Path = GUIDES_DIR) -> tuple[Guide, ...]:
    schema = json.loads((directory / SCHEMA_FILE).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    guides: list[Guide] = []
    files = sorted(p for p in directory.iterdir() if p.suffix in {".yaml", ".yml", ".json"})
    for path in files:
        if path.name == SCHEMA_FILE:
            continue
        guide = load_guide(path, validator)
        clash = next((g for g in guides if g.guide_id == guide.guide_id), None)
        if clash is not None:
            raise GuideFileError(f"{path.name}: guide id {guide.guide_id!r} used twice")
        guides.append(guide)
    return tuple(guides)


def load_guide(path: Path, validator: jsonschema.Draft202012Validator) -> Guide:
    try:
        text = path.read_text()
        body = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise GuideFileError(f"{path.name}: unreadable: {exc}") from None
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        raise GuideFileError(f"{path.name}: {_where(body, error.absolute_path)}{error.message}")
    try:
        return from_mapping(body).check()
    except GuideError as exc:
        raise GuideFileError(f"{path.name}: {exc}") from None


def _where(body: Any, place: Sequence[str | int]) -> str:
    """'step 'x': ' for an error inside a step, '' for one at the guide's level."""
    parts = list(place)
    if len(parts) >= 2 and parts[0] == "steps" and isinstance(parts[1], int):
        step = body["steps"][parts[1]]
        name = step.get("id") if isinstance(step, Mapping) else None
        inner = ".".join(str(p) for p in parts[2:])
        return f"step {name or '#' + str(parts[1] + 1)!r}{' ' + inner if inner else ''}: "
    return f"{'.'.join(str(p) for p in parts)}: " if parts else ""


def from_mapping(body: Mapping[str, Any]) -> Guide:
    """A guide from its parsed file (already valid against the schema)."""
    trigger = body.get("trigger", {})
    return Guide(
        guide_id=body["id"],
        version=body["version"],
        title=body["title"],
        reason=body.get("reason", ""),
        trigger=Trigger(
            skills=tuple(trigger.get("skills", ())),
            keywords=tuple(trigger.get("keywords", ())),
            channels=tuple(trigger.get("channels", ())),
            agent_pick=trigger.get("agent_pick", True),
        ),
        steps=tuple(_step(s) for s in body["steps"]),
    )


def _step(body: Mapping[str, Any]) -> Step:
    escalate = body.get("escalate")
    return Step(
        id=body["id"],
        title=body["title"],
        record=body.get("record", "confirm"),
        instructions=body.get("instructions", ""),
        shows=tuple(body.get("shows", ())),
        options=tuple(body.get("options", ())),
        required=body.get("required", False),
        requires=tuple(
            Precondition(p) if isinstance(p, str) else Precondition(p["step"], p.get("answer"))
            for p in body.get("requires", ())
        ),
        branches=dict(body.get("branches", {})),
        escalate=None
        if escalate is None
        else Escalation(dict(escalate["skills"]), escalate.get("reason", "")),
    )
