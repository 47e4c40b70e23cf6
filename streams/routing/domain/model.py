"""Routing vocabulary: channels, pool configuration and the mutable records of one pool."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

from streams.routing.domain.relaxation import RelaxStep, check_steps


class Channel(StrEnum):
    VOICE = "voice"
    SMS = "sms"
    EMAIL = "email"
    CHAT = "chat"


class AgentStatus(StrEnum):
    LOGGED_OUT = "logged_out"
    NOT_READY = "not_ready"
    READY = "ready"


class ContactStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    WRAP_UP = "wrap_up"


def _default_weights() -> Mapping[str, float]:
    return {"vip": 100.0, "standard": 0.0}


def _default_capacity() -> Mapping[Channel, int]:
    return {Channel.VOICE: 1, Channel.CHAT: 3, Channel.EMAIL: 5, Channel.SMS: 5}


@dataclass(frozen=True)
class PoolConfig:
    """Routing policy of one pool.

    ``class_weights``: base priority per customer class; an unknown class is treated as the
    lowest-weighted class. ``aging_per_second``: priority gained per second of waiting
    (0 = strict priority). ``capacity``: concurrent contacts per channel (a channel missing
    here has capacity 0). ``exclusive_channels``: work on these channels occupies the agent
    entirely. ``max_missed_offers``: consecutive timed-out offers that set an agent not ready
    (0 disables the rule). ``last_agent_window_seconds``: how long a contact's last agent is
    preferred. ``input_memory_seconds``: how long an applied input is recognised by its event
    id (longer than any redelivery); ``finished_memory_seconds``: how long a finished contact
    stays finished (an arrival of it sent again is ignored). ``default_handle_seconds``: the
    handle time the predicted wait assumes on a channel until one completes there.
    ``cross_channel_hold``: per exclusive channel, how many open contacts of other channels
    an agent may hold and still be offered it (0, or a channel missing here: nothing else
    open); those contacts wait while the exclusive one is handled.
    ``handle_prior_seconds``: per channel, the handle time the predicted wait assumes before
    the pool has completions there (``default_handle_seconds`` for a channel missing here).
    ``relaxation``: per pool id (``"*"`` for every other pool), the ordered steps that widen
    a waiting contact's requirement over its wait (``relaxation.RelaxStep``).
    """

    class_weights: Mapping[str, float] = field(default_factory=_default_weights)
    aging_per_second: float = 1.0
    capacity: Mapping[Channel, int] = field(default_factory=_default_capacity)
    exclusive_channels: frozenset[Channel] = frozenset({Channel.VOICE})
    offer_timeout_seconds: float = 20.0
    max_missed_offers: int = 3
    last_agent_window_seconds: float = 86400.0
    input_memory_seconds: float = 3600.0
    finished_memory_seconds: float = 7 * 86400.0
    default_handle_seconds: float = 300.0
    cross_channel_hold: Mapping[Channel, int] = field(default_factory=dict)
    handle_prior_seconds: Mapping[Channel, float] = field(default_factory=dict)
    relaxation: Mapping[str, tuple[RelaxStep, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.class_weights:
            raise ValueError("class_weights must name at least one class")
        for name, weight in self.class_weights.items():
            if not math.isfinite(weight):
                raise ValueError(f"class weight of {name!r} must be finite")
        if not math.isfinite(self.aging_per_second) or self.aging_per_second < 0:
            raise ValueError("aging_per_second must be >= 0")
        capacity = {Channel(ch): int(n) for ch, n in self.capacity.items()}
        if any(n < 0 for n in capacity.values()):
            raise ValueError("capacity must be >= 0")
        if not math.isfinite(self.offer_timeout_seconds) or self.offer_timeout_seconds <= 0:
            raise ValueError("offer_timeout_seconds must be > 0")
        if self.max_missed_offers < 0:
            raise ValueError("max_missed_offers must be >= 0")
        if self.last_agent_window_seconds < 0:
            raise ValueError("last_agent_window_seconds must be >= 0")
        if self.input_memory_seconds < 0 or self.finished_memory_seconds < 0:
            raise ValueError("input_memory_seconds and finished_memory_seconds must be >= 0")
        if not math.isfinite(self.default_handle_seconds) or self.default_handle_seconds <= 0:
            raise ValueError("default_handle_seconds must be > 0")
        hold = {Channel(ch): int(n) for ch, n in self.cross_channel_hold.items()}
        if any(n < 0 for n in hold.values()):
            raise ValueError("cross_channel_hold must be >= 0")
        priors = {Channel(ch): float(v) for ch, v in self.handle_prior_seconds.items()}
        if any(not math.isfinite(v) or v <= 0 for v in priors.values()):
            raise ValueError("handle_prior_seconds must be > 0")
        weights = {str(k): float(v) for k, v in self.class_weights.items()}
        object.__setattr__(self, "class_weights", MappingProxyType(weights))
        object.__setattr__(self, "capacity", MappingProxyType(capacity))
        object.__setattr__(self, "cross_channel_hold", MappingProxyType(hold))
        object.__setattr__(self, "handle_prior_seconds", MappingProxyType(priors))
        steps = {str(pool): check_steps(list(seq)) for pool, seq in self.relaxation.items()}
        object.__setattr__(self, "relaxation", MappingProxyType(steps))
        object.__setattr__(
            self, "exclusive_channels", frozenset(Channel(c) for c in self.exclusive_channels)
        )

    def relaxation_steps(self, pool_id: str) -> tuple[RelaxStep, ...]:
        return self.relaxation.get(pool_id, self.relaxation.get("*", ()))

    def effective_class(self, customer_class: str) -> str:
        """The class a contact is routed as: itself if known, else the lowest-weighted class."""
        if customer_class in self.class_weights:
            return customer_class
        return min(self.class_weights.items(), key=lambda item: (item[1], item[0]))[0]

    def weight(self, customer_class: str) -> float:
        return self.class_weights[self.effective_class(customer_class)]


Requirement = tuple[tuple[str, int], ...]


class QueueKey(NamedTuple):
    """A channel plus a required skill set (skill, minimum proficiency), sorted by skill."""

    channel: Channel
    skills: Requirement

    @classmethod
    def of(cls, channel: Channel, skills: Mapping[str, int]) -> QueueKey:
        return cls(channel, tuple(sorted(skills.items())))

    @property
    def label(self) -> str:
        """``chat`` or ``chat|billing>=2,lang_fr>=1``: how readers outside routing name it."""
        return requirement_label(self.channel.value, dict(self.skills))


def requirement_label(channel: str, skills: Mapping[str, int]) -> str:
    needs = ",".join(f"{skill}>={level}" for skill, level in sorted(skills.items()))
    return f"{channel}|{needs}" if needs else channel


def qualifies(agent_skills: Mapping[str, int], required: Requirement) -> bool:
    """Whether an agent has every required skill at or above its minimum."""
    return all(agent_skills.get(skill, 0) >= level for skill, level in required)


@dataclass(slots=True)
class ContactRecord:
    """A contact the pool routes, from arrival until it is released or removed."""

    contact_id: str
    channel: Channel
    customer_class: str
    effective_class: str
    weight: float
    skills: dict[str, int]
    arrived_at: float
    last_agent_id: str | None = None
    last_agent_at: float | None = None
    status: ContactStatus = ContactStatus.WAITING
    callback: bool = False
    attempts: int = 0
    declined: set[str] = field(default_factory=set)
    offer_id: str | None = None
    agent_id: str | None = None
    offer_expires_at: float | None = None
    assigned_at: float | None = None
    unservable: str | None = None  # while waiting: the requirement no logged-in agent meets
    required: dict[str, int] | None = None  # the requirement before relaxation (None: skills)
    relaxed: int = 0  # relaxation steps applied to it

    @property
    def key(self) -> QueueKey:
        return QueueKey.of(self.channel, self.skills)

    def rank(self, aging: float) -> tuple[float, float, str]:
        """Time-invariant queue order: sorting by it ascending is sorting by priority
        descending at any instant, ties by earlier arrival, then contact id."""
        return (-(self.weight - aging * self.arrived_at), self.arrived_at, self.contact_id)

    def priority(self, aging: float, now: float) -> float:
        return self.weight + aging * (now - self.arrived_at)


@dataclass(slots=True)
class AgentRecord:
    """An agent of the pool; ``work`` maps contact ids offered to or handled by the agent
    to their channel (derived from the contacts, not stored)."""

    agent_id: str
    skills: dict[str, int]
    capacity: dict[Channel, int] = field(default_factory=dict)
    status: AgentStatus = AgentStatus.NOT_READY
    reason: str = ""
    idle_since: float = 0.0
    missed_offers: int = 0
    work: dict[str, Channel] = field(default_factory=dict)
    load: dict[Channel, int] = field(default_factory=dict)
    exclusive_work: int = 0

    def capacity_on(self, channel: Channel, config: PoolConfig) -> int:
        return self.capacity.get(channel, config.capacity.get(channel, 0))

    def has_capacity(self, channel: Channel, config: PoolConfig) -> bool:
        """Room for one more contact on the channel, counting pending offers; exclusive
        work blocks everything, and an exclusive channel needs an agent holding no more
        other work than ``config.cross_channel_hold`` allows for it."""
        if self.exclusive_work:
            return False
        if channel in config.exclusive_channels and len(self.work) > config.cross_channel_hold.get(
            channel, 0
        ):
            return False
        return self.load.get(channel, 0) < self.capacity_on(channel, config)

    def able(self, channel: Channel, config: PoolConfig) -> bool:
        """Whether the agent, ready, takes the channel now or once its own work on that
        channel ends: no other channel's work stands in the way. What an alert on "nobody
        can take these contacts" counts, where "ready" alone hides agents held by other
        channels."""
        if self.status is not AgentStatus.READY or self.capacity_on(channel, config) < 1:
            return False
        own = self.load.get(channel, 0)
        exclusive = channel in config.exclusive_channels
        if self.exclusive_work - (own if exclusive else 0):
            return False
        held_elsewhere = len(self.work) - own
        return not (exclusive and held_elsewhere > config.cross_channel_hold.get(channel, 0))

    def add_work(self, contact_id: str, channel: Channel, config: PoolConfig) -> None:
        self.work[contact_id] = channel
        self.load[channel] = self.load.get(channel, 0) + 1
        if channel in config.exclusive_channels:
            self.exclusive_work += 1

    def remove_work(self, contact_id: str, config: PoolConfig) -> None:
        channel = self.work.pop(contact_id)
        self.load[channel] -= 1
        if not self.load[channel]:
            del self.load[channel]
        if channel in config.exclusive_channels:
            self.exclusive_work -= 1
