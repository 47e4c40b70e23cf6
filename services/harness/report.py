"""The harness report: per scenario the load, the faults, the time it took and the count of
each violation (0 expected); the records of the first few violations, to investigate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.harness import checks

if TYPE_CHECKING:
    from services.harness.run import ScenarioResult

SHOWN_PER_KIND = 5


def scenario_lines(result: ScenarioResult) -> str:
    counts = result.counts()
    lines = [
        f"  {result.scenario}: {result.events} inputs"
        + (f" (+{result.copies} copies)" if result.copies else "")
        + f", {result.contacts} contacts ({result.completed} completed,"
        f" {result.abandoned} gave up), {result.offers} offers; faults: {result.faults};"
        f" {result.duration:.0f} s ("
        + ", ".join(f"{name} {seconds:.0f}" for name, seconds in result.phases.items())
        + f"); logs in {result.log_dir}",
        *(f"    {event}" for event in result.fault_events),
        "    violations: " + ", ".join(f"{kind} {n}" for kind, n in counts.items()),
    ]
    shown: dict[str, int] = {}
    for violation in result.violations:
        if shown.get(violation.kind, 0) >= SHOWN_PER_KIND:
            continue
        shown[violation.kind] = shown.get(violation.kind, 0) + 1
        lines.append(f"    ! {violation.kind} {violation.subject}: {violation.detail}")
    for subject, records in result.samples.items():
        lines.append(f"    records of {subject}, in topic order:")
        lines.extend(f"      {line}" for line in records)
    return "\n".join(lines)


def summary(results: Sequence[ScenarioResult]) -> str:
    header = (
        f"{'scenario':<11} {'inputs':>7} {'copies':>7} {'seconds':>8} {'violations':>10}  faults"
    )
    lines = ["", "crash harness report", header]
    for r in results:
        lines.append(
            f"{r.scenario:<11} {r.events:>7} {r.copies:>7} {r.duration:>8.0f}"
            f" {len(r.violations):>10}  {r.faults}"
        )
    kinds = " ".join(f"{kind[:14]:>14}" for kind in checks.KINDS)
    lines += ["", f"{'scenario':<11} {kinds}"]
    for r in results:
        counts = r.counts()
        lines.append(f"{r.scenario:<11} " + " ".join(f"{counts[k]:>14}" for k in checks.KINDS))
    verdict = "no violation" if not any(r.violations for r in results) else "VIOLATIONS FOUND"
    lines += ["", verdict]
    return "\n".join(lines)
