"""The fewest agents that meet every class's service-level target, by search over
simulated runs (the same seeds at every size, so sizes are compared on the same traffic)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from streams.simulation.config import Scenario
from streams.simulation.runner import simulate
from streams.simulation.statistics import Summary


@dataclass(frozen=True)
class Target:
    """``level`` of a class's contacts answered within ``threshold_seconds``."""

    level: float
    threshold_seconds: float

    def __post_init__(self) -> None:
        if not 0 < self.level <= 1:
            raise ValueError("a service-level target is a share in (0, 1]")
        if self.threshold_seconds < 0:
            raise ValueError("a service-level threshold must be >= 0")


@dataclass(frozen=True)
class Staffing:
    agents: int
    summary: Summary
    tried: dict[int, bool]


def meets(summary: Summary, targets: Mapping[str, Target]) -> bool:
    return all(
        summary.classes[cls].service_level.mean >= target.level
        for cls, target in targets.items()
        if cls in summary.classes
    )


def fewest_agents(
    scenario: Scenario,
    targets: Mapping[str, Target],
    *,
    replications: int,
    seed: int,
    jobs: int = 1,
) -> Staffing:
    """Smallest staff whose mean service level (over the replications) meets every target.
    Starts from the least stable staff, grows by doubling steps, then bisects."""
    if scenario.dedicated:
        raise ValueError("staffing searches one shared pool")
    thresholds = {cls: t.threshold_seconds for cls, t in targets.items()}
    tried: dict[int, bool] = {}
    summaries: dict[int, Summary] = {}

    def ok(agents: int) -> bool:
        if agents not in tried:
            summary = simulate(
                scenario.with_agents(agents),
                replications=replications,
                seed=seed,
                thresholds=thresholds,
                jobs=jobs,
            )
            summaries[agents] = summary
            tried[agents] = meets(summary, targets)
        return tried[agents]

    low = max(0, math.floor(scenario.offered_erlangs()))
    high, step = low + 1, 1
    while not ok(high):
        low, high, step = high, high + step, step * 2
    while high - low > 1:
        middle = (low + high) // 2
        if ok(middle):
            high = middle
        else:
            low = middle
    return Staffing(high, summaries[high], dict(sorted(tried.items())))
