"""What one simulation runs: arrival streams, handle times, patience, staff and policy.

Every value here is plain data (picklable), so replications can run in other processes."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from streams.routing.domain.model import Channel, PoolConfig
from streams.routing.domain.relaxation import RelaxStep

SHARED_TEAM = "shared"


@dataclass(frozen=True)
class ArrivalStream:
    """Poisson arrivals of one customer class on one channel."""

    customer_class: str
    channel: Channel
    per_hour: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "channel", Channel(self.channel))
        if not self.customer_class:
            raise ValueError("arrival stream needs a customer class")
        if not math.isfinite(self.per_hour) or self.per_hour < 0:
            raise ValueError(f"arrival rate of {self.customer_class} must be >= 0")


@dataclass(frozen=True)
class HandleTime:
    """Handle-time distribution: exponential (coefficient of variation 1) or lognormal
    with the given mean and coefficient of variation."""

    mean_seconds: float
    distribution: str = "exponential"
    cv: float = 1.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.mean_seconds) or self.mean_seconds <= 0:
            raise ValueError("mean handle time must be > 0")
        if self.distribution not in ("exponential", "lognormal"):
            raise ValueError(f"unknown handle-time distribution {self.distribution!r}")
        if not math.isfinite(self.cv) or self.cv <= 0:
            raise ValueError("handle-time coefficient of variation must be > 0")

    def sampler(self, rng: random.Random) -> Callable[[], float]:
        if self.distribution == "exponential":
            rate = 1.0 / self.mean_seconds
            return lambda: rng.expovariate(rate)
        sigma = math.sqrt(math.log1p(self.cv**2))
        mu = math.log(self.mean_seconds) - sigma**2 / 2
        return lambda: rng.lognormvariate(mu, sigma)


@dataclass(frozen=True)
class Shift:
    """``agents`` staffed from ``start_hour`` to ``end_hour`` of every day (hours of the day,
    0–24; an end at or before the start runs past midnight)."""

    start_hour: float
    end_hour: float
    agents: int

    def __post_init__(self) -> None:
        for hour in (self.start_hour, self.end_hour):
            if not (math.isfinite(hour) and 0 <= hour <= 24):
                raise ValueError(f"shift hours must be within 0..24, got {hour}")
        if self.agents < 0:
            raise ValueError("a shift's agents must be >= 0")

    @property
    def duration_seconds(self) -> float:
        hours = (self.end_hour - self.start_hour) % 24 or 24.0
        return hours * 3600

    def periods(self, end: float) -> list[tuple[float, float]]:
        """(login, logout) instants in seconds from the run's start (midnight of day 0) of
        every period that overlaps ``[0, end)``; one that began the day before starts at 0."""
        periods = []
        day = -1
        while (start := day * 86400 + self.start_hour * 3600) < end:
            stop = start + self.duration_seconds
            if stop > 0:
                periods.append((max(start, 0.0), stop))
            day += 1
        return periods

    def covers(self, hour: float) -> bool:
        return (hour - self.start_hour) % 24 < self.duration_seconds / 3600


def peak_staff(shifts: tuple[Shift, ...]) -> int:
    """The most agents the shifts staff at once (staff changes only at a shift's start or
    end, so a maximum is at some start)."""
    return max(
        (sum(s.agents for s in shifts if s.covers(start.start_hour)) for start in shifts),
        default=0,
    )


@dataclass(frozen=True)
class SkillMix:
    """One graded skill (``SKILL``): agent n has proficiency ``agent_levels[n % len]``, a
    contact needs a minimum drawn uniformly from ``required_levels``. What relaxation is
    measured on: the wait against how often the agent met the original requirement."""

    agent_levels: tuple[int, ...]
    required_levels: tuple[int, ...]

    def __post_init__(self) -> None:
        levels = (*self.agent_levels, *self.required_levels)
        if not self.agent_levels or not self.required_levels:
            raise ValueError("a skill mix needs agent levels and required levels")
        if any(not 1 <= n <= 10 for n in levels):
            raise ValueError("skill levels are 1..10")


SKILL = "product"


@dataclass(frozen=True)
class Team:
    """A pool of agents. ``classes`` None: every class no other team is dedicated to."""

    name: str
    agents: int
    classes: frozenset[str] | None = None


@dataclass(frozen=True)
class Scenario:
    """One simulated contact center. Agents log in and get ready at time 0; statistics count
    contacts that arrive after ``warmup_hours`` and before ``hours``; a contact arriving in
    that window is followed to its end. ``dedicated`` maps a class to the agents of its own
    pool, taken out of ``agents``; the rest form the shared pool. With ``shifts`` the shared
    pool is staffed by them instead, its agents logging in at a shift's start and out at its
    end (``agents`` is then only the size the team is reported with)."""

    arrivals: tuple[ArrivalStream, ...]
    agents: int
    handle: HandleTime
    hours: float
    patience_seconds: float | None = None
    warmup_hours: float | None = None
    dedicated: Mapping[str, int] = field(default_factory=dict)
    class_weights: Mapping[str, float] = field(
        default_factory=lambda: {"vip": 100.0, "standard": 0.0}
    )
    aging_per_second: float = 1.0
    capacity: Mapping[str, int] = field(
        default_factory=lambda: {"voice": 1, "chat": 3, "email": 5, "sms": 5}
    )
    exclusive_channels: frozenset[str] = frozenset({"voice"})
    shifts: tuple[Shift, ...] = ()
    cross_channel_hold: Mapping[str, int] = field(default_factory=dict)
    handle_prior_seconds: Mapping[str, float] = field(default_factory=dict)
    relaxation: tuple[RelaxStep, ...] = ()
    skills: SkillMix | None = None

    def __post_init__(self) -> None:
        if not self.arrivals:
            raise ValueError("at least one arrival stream is needed")
        if self.shifts and self.dedicated:
            raise ValueError("shifts staff the shared pool only: no dedicated pools with them")
        if self.agents < 1:
            raise ValueError("at least one agent is needed")
        if not math.isfinite(self.hours) or self.hours <= 0:
            raise ValueError("hours must be > 0")
        if not 0 <= self.warmup < self.hours * 3600:
            raise ValueError("the warm-up must be shorter than the run")
        if self.patience_seconds is not None and self.patience_seconds <= 0:
            raise ValueError("mean patience must be > 0")
        if any(n < 1 for n in self.dedicated.values()):
            raise ValueError("a dedicated pool needs at least one agent")
        if sum(self.dedicated.values()) >= self.agents:
            raise ValueError("dedicated pools must leave agents for the shared pool")
        self.policy()

    @property
    def warmup(self) -> float:
        """Warm-up in seconds: a tenth of the run unless given."""
        hours = self.hours / 10 if self.warmup_hours is None else self.warmup_hours
        return hours * 3600

    @property
    def end(self) -> float:
        return self.hours * 3600

    def policy(self) -> PoolConfig:
        return PoolConfig(
            class_weights=dict(self.class_weights),
            aging_per_second=self.aging_per_second,
            capacity={Channel(ch): n for ch, n in self.capacity.items()},
            exclusive_channels=frozenset(Channel(ch) for ch in self.exclusive_channels),
            input_memory_seconds=0.0,
            finished_memory_seconds=0.0,
            default_handle_seconds=self.handle.mean_seconds,
            cross_channel_hold={Channel(ch): n for ch, n in self.cross_channel_hold.items()},
            handle_prior_seconds={Channel(ch): v for ch, v in self.handle_prior_seconds.items()},
            relaxation={"*": self.relaxation},
        )

    def teams(self) -> tuple[Team, ...]:
        dedicated = tuple(
            Team(name, n, frozenset({name})) for name, n in sorted(self.dedicated.items())
        )
        shared = Team(SHARED_TEAM, self.agents - sum(self.dedicated.values()))
        return (shared, *dedicated)

    def classes(self) -> tuple[str, ...]:
        """Customer classes in order of priority (highest weight first), then by name."""
        names = {stream.customer_class for stream in self.arrivals}
        policy = self.policy()
        return tuple(sorted(names, key=lambda name: (-policy.weight(name), name)))

    def with_agents(self, agents: int) -> Scenario:
        return replace(self, agents=agents)

    def offered_erlangs(self) -> float:
        """Offered load in agents' worth of work (arrivals per second × mean handle)."""
        per_second = sum(stream.per_hour for stream in self.arrivals) / 3600
        return per_second * self.handle.mean_seconds
