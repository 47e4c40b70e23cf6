"""What a replication measured, and the summary across replications with 95% confidence
intervals (Student's t over the replications' own figures)."""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom; 1.96 beyond.
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


@dataclass
class Tally:
    """Contacts of one group (a class, or a class on one channel) arrived in the window."""

    offered: int = 0
    abandoned: int = 0
    waits: array[float] = field(default_factory=lambda: array("d"))
    predicted: array[float] = field(default_factory=lambda: array("d"))
    queued_waits: array[float] = field(default_factory=lambda: array("d"))
    rough: array[int] = field(default_factory=lambda: array("b"))  # per predicted: cold
    full_match: int = 0  # answered by an agent meeting the original requirement
    shortfall: int = 0  # levels below the original requirement, summed over answered

    @property
    def answered(self) -> int:
        return len(self.waits)

    def mean_wait(self) -> float:
        return sum(self.waits) / len(self.waits) if self.waits else 0.0

    def prediction_mae(self) -> float:
        """Mean absolute error of the waits predicted for contacts that had to queue
        (``predicted`` and ``queued_waits`` are in the same order)."""
        pairs = list(zip(self.predicted, self.queued_waits, strict=True))
        return sum(abs(p - w) for p, w in pairs) / len(pairs) if pairs else 0.0

    def prediction_errors(self, *, rough: bool) -> list[float]:
        """Absolute errors of the predictions made cold (``rough``: the channel's prior or
        a few completions) or warm."""
        return [
            abs(p - w)
            for p, w, r in zip(self.predicted, self.queued_waits, self.rough, strict=True)
            if bool(r) is rough
        ]

    def quantile(self, q: float) -> float:
        if not self.waits:
            return 0.0
        ordered = sorted(self.waits)
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]

    def service_level(self, threshold: float) -> float:
        """Share of offered contacts answered within ``threshold`` seconds (abandoned ones
        count as missed)."""
        if not self.offered:
            return 1.0
        return sum(1 for w in self.waits if w <= threshold) / self.offered


@dataclass
class RunResult:
    """One replication: tallies per class and per (class, channel), and busy agent-seconds
    per team within the window."""

    window_seconds: float
    classes: dict[str, Tally]
    channels: dict[tuple[str, str], Tally]
    busy_seconds: dict[str, float]
    team_agents: dict[str, int]
    staffed_seconds: dict[str, float] | None = None

    def occupancy(self, team: str | None = None) -> float:
        """Share of agent time with at least one contact in hand (of one team, or all), of
        the agent-seconds staffed in the window (agents × window without shifts)."""
        names = [team] if team is not None else list(self.team_agents)
        staffed = self.staffed_seconds
        seats = sum(
            staffed[name] if staffed is not None else self.team_agents[name] * self.window_seconds
            for name in names
        )
        busy = sum(self.busy_seconds[name] for name in names)
        return busy / seats if seats else 0.0


@dataclass(frozen=True)
class Estimate:
    """Mean over replications with the half-open 95% confidence interval around it."""

    mean: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Estimate:
        n = len(values)
        mean = sum(values) / n
        if n < 2:
            return cls(mean, mean, mean)
        variance = sum((v - mean) ** 2 for v in values) / (n - 1)
        t = _T95[n - 2] if n - 1 <= len(_T95) else 1.96
        half = t * math.sqrt(variance / n)
        return cls(mean, mean - half, mean + half)

    def ci95(self) -> list[float]:
        return [self.low, self.high]


@dataclass(frozen=True)
class GroupSummary:
    offered: Estimate
    answered: Estimate
    abandoned: Estimate
    mean_wait: Estimate
    p90_wait: Estimate
    max_wait: Estimate
    service_level: Estimate
    threshold_seconds: float

    @classmethod
    def of(cls, tallies: Sequence[Tally], threshold: float) -> GroupSummary:
        return cls(
            offered=Estimate.of([t.offered for t in tallies]),
            answered=Estimate.of([t.answered for t in tallies]),
            abandoned=Estimate.of([t.abandoned for t in tallies]),
            mean_wait=Estimate.of([t.mean_wait() for t in tallies]),
            p90_wait=Estimate.of([t.quantile(0.9) for t in tallies]),
            max_wait=Estimate.of([max(t.waits, default=0.0) for t in tallies]),
            service_level=Estimate.of([t.service_level(threshold) for t in tallies]),
            threshold_seconds=threshold,
        )

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {}
        for name, estimate in (
            ("offered", self.offered),
            ("answered", self.answered),
            ("abandoned", self.abandoned),
            ("mean_wait_seconds", self.mean_wait),
            ("p90_wait_seconds", self.p90_wait),
            ("max_wait_seconds", self.max_wait),
            ("service_level", self.service_level),
        ):
            body[name] = estimate.mean
            body[f"{name.removesuffix('_seconds')}_ci95"] = estimate.ci95()
        body["threshold_seconds"] = self.threshold_seconds
        return body


@dataclass(frozen=True)
class Summary:
    replications: int
    classes: dict[str, GroupSummary]
    channels: dict[tuple[str, str], GroupSummary]
    occupancy: Estimate
    team_occupancy: dict[str, Estimate]
    team_agents: dict[str, int]

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {
            "classes": {name: group.to_dict() for name, group in self.classes.items()},
            "occupancy": self.occupancy.mean,
            "occupancy_ci95": self.occupancy.ci95(),
            "teams": {
                name: {
                    "agents": self.team_agents[name],
                    "occupancy": estimate.mean,
                    "occupancy_ci95": estimate.ci95(),
                }
                for name, estimate in self.team_occupancy.items()
            },
            "replications": self.replications,
        }
        if self.channels:
            body["channels"] = {
                f"{cls}:{channel}": group.to_dict()
                for (cls, channel), group in self.channels.items()
            }
        return body


def summarise(
    results: Sequence[RunResult], thresholds: Mapping[str, float], default_threshold: float
) -> Summary:
    """Summary of replications; service levels per class at that class's threshold.
    Channels are broken out only where some class arrives on more than one channel."""
    first = results[0]
    channels_of: dict[str, set[str]] = {}
    for cls, channel in first.channels:
        channels_of.setdefault(cls, set()).add(channel)
    split = (
        any(len(found) > 1 for found in channels_of.values())
        or len({ch for found in channels_of.values() for ch in found}) > 1
    )

    def threshold(cls: str) -> float:
        return thresholds.get(cls, default_threshold)

    return Summary(
        replications=len(results),
        classes={
            cls: GroupSummary.of([r.classes[cls] for r in results], threshold(cls))
            for cls in first.classes
        },
        channels={
            key: GroupSummary.of([r.channels[key] for r in results], threshold(key[0]))
            for key in first.channels
        }
        if split
        else {},
        occupancy=Estimate.of([r.occupancy() for r in results]),
        team_occupancy={
            team: Estimate.of([r.occupancy(team) for r in results]) for team in first.team_agents
        },
        team_agents=dict(first.team_agents),
    )
