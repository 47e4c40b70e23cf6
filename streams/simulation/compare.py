"""Settings side by side on the same seeds: cross-channel concurrency (what an agent may hold
and still be offered a call), relaxation steps (wait against match quality), and the
predicted wait's error cold and warm. Each row is the mean of the replications with its 95%
confidence interval, as everywhere in the simulation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from streams.routing.domain.relaxation import RelaxStep
from streams.simulation.config import Scenario
from streams.simulation.runner import run_replications
from streams.simulation.statistics import Estimate, RunResult, Tally


def _merged(result: RunResult, channel: str | None = None) -> Tally:
    """Every class of one replication in one tally (of one channel, or all)."""
    merged = Tally()
    groups = [tally for (_cls, ch), tally in result.channels.items() if channel in (None, ch)]
    for tally in groups:
        merged.offered += tally.offered
        merged.abandoned += tally.abandoned
        merged.waits.extend(tally.waits)
        merged.predicted.extend(tally.predicted)
        merged.queued_waits.extend(tally.queued_waits)
        merged.rough.extend(tally.rough)
        merged.full_match += tally.full_match
        merged.shortfall += tally.shortfall
    return merged


@dataclass(frozen=True)
class ChannelFigures:
    mean_wait: Estimate
    p90_wait: Estimate
    service_level: Estimate


@dataclass(frozen=True)
class HoldRow:
    hold: int
    channels: dict[str, ChannelFigures]
    occupancy: Estimate


def _figures(results: Sequence[RunResult], channel: str | None, threshold: float) -> ChannelFigures:
    tallies = [_merged(r, channel) for r in results]
    return ChannelFigures(
        mean_wait=Estimate.of([t.mean_wait() for t in tallies]),
        p90_wait=Estimate.of([t.quantile(0.9) for t in tallies]),
        service_level=Estimate.of([t.service_level(threshold) for t in tallies]),
    )


def compare_hold(
    scenario: Scenario,
    holds: Sequence[int],
    *,
    channel: str = "voice",
    replications: int,
    seed: int,
    threshold_seconds: float,
    jobs: int = 1,
) -> list[HoldRow]:
    """The scenario once per allowance: how many open contacts of other channels an agent
    may hold and still be offered ``channel``."""
    rows: list[HoldRow] = []
    channels = sorted({stream.channel.value for stream in scenario.arrivals})
    for hold in holds:
        held = {**scenario.cross_channel_hold, channel: hold}
        results = run_replications(
            replace(scenario, cross_channel_hold=held), replications, seed, jobs
        )
        rows.append(
            HoldRow(
                hold,
                {ch: _figures(results, ch, threshold_seconds) for ch in channels},
                Estimate.of([r.occupancy() for r in results]),
            )
        )
    return rows


@dataclass(frozen=True)
class RelaxationRow:
    name: str
    figures: ChannelFigures
    full_match: Estimate  # share of answered contacts whose agent met the original need
    shortfall: Estimate  # mean levels below the original need, per answered contact
    answered: Estimate
    abandoned: Estimate  # share of the offered contacts that gave up waiting


def compare_relaxation(
    scenario: Scenario,
    settings: Sequence[tuple[str, tuple[RelaxStep, ...]]],
    *,
    replications: int,
    seed: int,
    threshold_seconds: float,
    jobs: int = 1,
) -> list[RelaxationRow]:
    rows: list[RelaxationRow] = []
    for name, steps in settings:
        results = run_replications(replace(scenario, relaxation=steps), replications, seed, jobs)
        tallies = [_merged(r) for r in results]
        rows.append(
            RelaxationRow(
                name,
                _figures(results, None, threshold_seconds),
                Estimate.of([t.full_match / t.answered if t.answered else 1.0 for t in tallies]),
                Estimate.of([t.shortfall / t.answered if t.answered else 0.0 for t in tallies]),
                Estimate.of([float(t.answered) for t in tallies]),
                Estimate.of([t.abandoned / t.offered if t.offered else 0.0 for t in tallies]),
            )
        )
    return rows


@dataclass(frozen=True)
class PredictionError:
    cold_contacts: int
    cold_error: Estimate  # mean absolute error, seconds, of rough (cold) predictions
    cold_wait: Estimate  # mean wait that followed them
    warm_contacts: int
    warm_error: Estimate
    warm_wait: Estimate


def prediction_error(
    scenario: Scenario, *, replications: int, seed: int, jobs: int = 1
) -> PredictionError:
    """The predicted wait of every contact that had to queue against the wait that followed,
    split by whether the prediction said it was rough (before the pool had history)."""
    results = run_replications(scenario, replications, seed, jobs, predict=True)
    tallies = [_merged(r) for r in results]

    def side(rough: bool) -> tuple[int, Estimate, Estimate]:
        errors = [t.prediction_errors(rough=rough) for t in tallies]
        waits = [
            [w for w, r in zip(t.queued_waits, t.rough, strict=True) if bool(r) is rough]
            for t in tallies
        ]
        used = [(e, w) for e, w in zip(errors, waits, strict=True) if e]
        if not used:
            return 0, Estimate(0.0, 0.0, 0.0), Estimate(0.0, 0.0, 0.0)
        return (
            sum(len(e) for e, _ in used),
            Estimate.of([sum(e) / len(e) for e, _ in used]),
            Estimate.of([sum(w) / len(w) for _, w in used]),
        )

    cold, warm = side(True), side(False)
    return PredictionError(cold[0], cold[1], cold[2], warm[0], warm[1], warm[2])
