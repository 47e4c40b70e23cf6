"""Independent replications of a scenario, optionally spread over processes."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from functools import partial

from streams.simulation.config import Scenario
from streams.simulation.engine import run_replication
from streams.simulation.statistics import RunResult, Summary, summarise


def replication_seeds(seed: int, replications: int) -> list[int]:
    """One seed per replication, distinct for every (seed, replication) pair."""
    return [seed * 1_000_003 + n for n in range(replications)]


def run_replications(
    scenario: Scenario, replications: int, seed: int, jobs: int = 1, *, predict: bool = False
) -> list[RunResult]:
    if replications < 1:
        raise ValueError("at least one replication is needed")
    seeds = replication_seeds(seed, replications)
    run = partial(run_replication, scenario, predict=predict)
    if jobs <= 1 or replications == 1:
        return [run(s) for s in seeds]
    with ProcessPoolExecutor(max_workers=min(jobs, replications)) as pool:
        return list(pool.map(run, seeds))


def simulate(
    scenario: Scenario,
    *,
    replications: int,
    seed: int,
    threshold_seconds: float = 20.0,
    thresholds: Mapping[str, float] | None = None,
    jobs: int = 1,
) -> Summary:
    """Replications summarised; service levels at ``thresholds`` per class, else at
    ``threshold_seconds``."""
    results = run_replications(scenario, replications, seed, jobs)
    return summarise(results, thresholds or {}, threshold_seconds)
