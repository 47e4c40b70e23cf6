"""Predicted wait: what a contact joining a pool's queue can expect, from its place in the
queue, the agents serving its channel, recent handle times and recent arrivals.

With no free slot for it, the contact starts after ``ahead − free + 1`` completions, which
come at ``slots / handle`` per second (``slots``: the contacts the ready agents can hold on
the channel at once); contacts of a higher weight arriving meanwhile go first and take their
share of the slots, which stretches the wait by ``1 / (1 − share)``. Contacts ahead are
those waiting on the same channel with a higher weight or of the same class: the estimate
assumes strict priority and ignores skills.

Everything here is a deterministic function of what the pool applied and of its clock, and
it is stored with the pool (``to_row``), so a restored router predicts the same."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.routing.domain.model import (
    AgentRecord,
    AgentStatus,
    Channel,
    PoolConfig,
    QueueKey,
    qualifies,
)

HANDLE_WINDOW = 200
"""Handle times are averaged over about the last this many completions per channel."""

ARRIVAL_HORIZON_SECONDS = 900.0
"""Arrival rates are counts decayed with this time constant (seconds), divided by it."""

ROUGH_BELOW = 10
"""Until a channel has this many completions, its handle time is the prior's or a mean of a
few, and the estimate says it is rough."""


def predicted_wait(
    ahead: int, agents: int, handle_seconds: float, higher_erlangs: float = 0.0
) -> float:
    """Expected wait of a contact with ``ahead`` contacts to be served before it, when all
    ``agents`` (slots) are busy; ``higher_erlangs`` is the load of classes that overtake it
    (``math.inf`` when no slot serves it or that load takes every slot)."""
    if agents < 1:
        return math.inf
    share = higher_erlangs / agents
    if share >= 1:
        return math.inf
    return (ahead + 1) * handle_seconds / agents / (1 - share)


def expected_wait(
    ahead: int, free: int, slots: int, handle_seconds: float, higher_erlangs: float = 0.0
) -> float:
    """The wait of a contact with ``ahead`` contacts before it, ``free`` of ``slots`` slots
    free now: none while a free slot is left for it, else ``predicted_wait`` of the
    contacts the free slots do not absorb."""
    if slots >= 1 and ahead < free:
        return 0.0
    return predicted_wait(ahead - max(0, free), slots, handle_seconds, higher_erlangs)


_CHANNELS = tuple(Channel)


class SlotTotals:
    """Per channel, the contacts the ready agents can hold at once (``slots``), the room
    they have now (``free``, exclusive work counted) and the agents able to take it
    (``able``: see ``AgentRecord.able``), kept as running totals: each agent change costs
    O(channels), a read O(1)."""

    def __init__(self, config: PoolConfig) -> None:
        self._config = config
        self._by_agent: dict[str, tuple[int, ...]] = {}
        self._totals = [0] * (3 * len(_CHANNELS))

    def update(self, agent: AgentRecord) -> None:
        new = self._share(agent)
        old = self._by_agent.get(agent.agent_id)
        if old == new:
            return
        for i, n in enumerate(new):
            self._totals[i] += n - (old[i] if old is not None else 0)
        self._by_agent[agent.agent_id] = new

    def slots(self, channel: Channel) -> int:
        return self._totals[_CHANNELS.index(channel)]

    def free(self, channel: Channel) -> int:
        return self._totals[len(_CHANNELS) + _CHANNELS.index(channel)]

    def able(self, channel: Channel) -> int:
        return self._totals[2 * len(_CHANNELS) + _CHANNELS.index(channel)]

    def _share(self, agent: AgentRecord) -> tuple[int, ...]:
        if agent.status is not AgentStatus.READY:
            return (0,) * (3 * len(_CHANNELS))
        config = self._config
        slots = tuple(agent.capacity_on(ch, config) for ch in _CHANNELS)
        free = tuple(
            slots[i] - agent.load.get(ch, 0) if agent.has_capacity(ch, config) else 0
            for i, ch in enumerate(_CHANNELS)
        )
        able = tuple(int(agent.able(ch, config)) for ch in _CHANNELS)
        return slots + free + able


class KeySlots:
    """``SlotTotals`` per queue key (channel + required skills): the slots and room of the
    ready agents qualified for the key, so that a prediction counts only the agents who could
    take the contact. Kept for the registered keys; an agent change costs O(keys it
    qualifies for), like ``AgentIndex.update``."""

    def __init__(self, config: PoolConfig) -> None:
        self._config = config
        self._totals: dict[QueueKey, list[int]] = {}
        self._by_agent: dict[str, dict[QueueKey, tuple[int, int]]] = {}

    def register(self, key: QueueKey, agents: Iterable[AgentRecord]) -> None:
        if key in self._totals:
            return
        self._totals[key] = [0, 0]
        for agent in agents:
            if qualifies(agent.skills, key.skills):
                self._apply(agent, key, self._share(agent, key))

    def update(self, agent: AgentRecord, qualified: frozenset[QueueKey]) -> None:
        held = self._by_agent.get(agent.agent_id, {})
        for key in set(held) | (qualified & self._totals.keys()):
            self._apply(agent, key, self._share(agent, key) if key in qualified else (0, 0))

    def slots(self, key: QueueKey) -> int:
        return self._totals.get(key, [0, 0])[0]

    def free(self, key: QueueKey) -> int:
        return self._totals.get(key, [0, 0])[1]

    def _apply(self, agent: AgentRecord, key: QueueKey, new: tuple[int, int]) -> None:
        held = self._by_agent.setdefault(agent.agent_id, {})
        old = held.get(key, (0, 0))
        if old == new:
            return
        totals = self._totals[key]
        totals[0] += new[0] - old[0]
        totals[1] += new[1] - old[1]
        if new == (0, 0):
            del held[key]
        else:
            held[key] = new

    def _share(self, agent: AgentRecord, key: QueueKey) -> tuple[int, int]:
        if agent.status is not AgentStatus.READY:
            return (0, 0)
        slots = agent.capacity_on(key.channel, self._config)
        room = agent.has_capacity(key.channel, self._config)
        return (slots, slots - agent.load.get(key.channel, 0) if room else 0)


@dataclass
class WaitEstimator:
    """What the prediction remembers of a pool: the mean recent handle time per channel
    (a running mean over the first ``HANDLE_WINDOW`` completions, then an exponential
    average with that weight) and, per channel and class, arrivals counted with exponential
    decay. Until a channel has a completion, its prior (``priors``, else
    ``default_handle_seconds``) stands in; below ``ROUGH_BELOW`` completions the estimate is
    rough."""

    default_handle_seconds: float
    handle: dict[str, tuple[float, int]] = field(default_factory=dict)
    arrivals: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    changed: bool = False
    priors: Mapping[str, float] = field(default_factory=dict)

    def handled(self, channel: str, seconds: float) -> None:
        mean, count = self.handle.get(channel, (0.0, 0))
        count = min(count + 1, HANDLE_WINDOW)
        self.handle[channel] = (mean + (seconds - mean) / count, count)
        self.changed = True

    def arrived(self, channel: str, customer_class: str, at: float) -> None:
        per_class = self.arrivals.setdefault(channel, {})
        per_class[customer_class] = (self._count(per_class.get(customer_class), at) + 1.0, at)
        self.changed = True

    def handle_seconds(self, channel: str) -> float:
        known = self.handle.get(channel)
        if known is not None:
            return known[0]
        return self.priors.get(channel, self.default_handle_seconds)

    def rough(self, channel: str) -> bool:
        """Whether the channel's handle time rests on the prior or on a few completions."""
        return self.handle.get(channel, (0.0, 0))[1] < ROUGH_BELOW

    def arrivals_per_second(self, channel: str, customer_class: str, now: float) -> float:
        known = self.arrivals.get(channel, {}).get(customer_class)
        return self._count(known, now) / ARRIVAL_HORIZON_SECONDS

    def higher_erlangs(
        self, channel: str, weight: float, weights: Mapping[str, float], now: float
    ) -> float:
        """Offered load on the channel of the classes weighted above ``weight``."""
        handle = self.handle_seconds(channel)
        return sum(
            self.arrivals_per_second(channel, cls, now) * handle
            for cls in sorted(self.arrivals.get(channel, {}))
            if weights.get(cls, -math.inf) > weight
        )

    @staticmethod
    def _count(known: tuple[float, float] | None, now: float) -> float:
        if known is None:
            return 0.0
        count, at = known
        return count * math.exp(-max(0.0, now - at) / ARRIVAL_HORIZON_SECONDS)

    def to_row(self) -> dict[str, Any]:
        return {
            "handle": {ch: list(v) for ch, v in sorted(self.handle.items())},
            "arrivals": {
                ch: {cls: list(v) for cls, v in sorted(per.items())}
                for ch, per in sorted(self.arrivals.items())
            },
        }

    @classmethod
    def from_row(
        cls,
        row: Mapping[str, Any] | None,
        default_handle: float,
        priors: Mapping[str, float] | None = None,
    ) -> WaitEstimator:
        row = row or {}
        return cls(
            default_handle,
            priors=dict(priors or {}),
            handle={
                str(ch): (float(v[0]), int(v[1])) for ch, v in (row.get("handle") or {}).items()
            },
            arrivals={
                str(ch): {str(c): (float(v[0]), float(v[1])) for c, v in per.items()}
                for ch, per in (row.get("arrivals") or {}).items()
            },
        )
