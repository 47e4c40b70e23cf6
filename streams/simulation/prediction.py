"""Predicted wait: what a contact joining the queue can expect, from its place in the queue,
the agents serving its class and recent handle times.

With every agent busy, the contact starts after ``ahead + 1`` completions, which come at
``agents / handle`` per second; contacts of higher priority arriving meanwhile go first and
take their share of the agents, which stretches the wait by ``1 / (1 − share)``."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from streams.routing.domain import PoolConfig, QueueStat


def predicted_wait(
    ahead: int, agents: int, handle_seconds: float, higher_erlangs: float = 0.0
) -> float:
    """Expected wait of a contact with ``ahead`` contacts to be served before it, when all
    ``agents`` are busy; ``higher_erlangs`` is the load of classes that overtake it."""
    if agents < 1:
        return math.inf
    share = higher_erlangs / agents
    if share >= 1:
        return math.inf
    return (ahead + 1) * handle_seconds / agents / (1 - share)


@dataclass
class RecentHandleTimes:
    """Mean of the last ``size`` handle times (``default`` until one is seen)."""

    default: float
    size: int = 200
    _values: deque[float] = field(default_factory=deque)
    _total: float = 0.0

    def add(self, seconds: float) -> None:
        self._values.append(seconds)
        self._total += seconds
        if len(self._values) > self.size:
            self._total -= self._values.popleft()

    def mean(self) -> float:
        return self._total / len(self._values) if self._values else self.default


@dataclass
class WaitPredictor:
    """Predicts from a pool's queue view under strict class priority: contacts of a higher
    weight and of the same class already waiting are ahead; classes of a higher weight keep
    arriving at ``arrivals_per_second``."""

    policy: PoolConfig
    agents: int
    arrivals_per_second: Mapping[str, float]
    handle: RecentHandleTimes

    def predict(self, customer_class: str, queue: Iterable[QueueStat]) -> float:
        """The wait of a contact that just joined ``queue`` (the pool's queue view)."""
        weight = self.policy.weight(customer_class)
        joined = sum(
            stat.waiting
            for stat in queue
            if self.policy.weight(stat.customer_class) > weight
            or stat.customer_class == customer_class
        )
        ahead = max(0, joined - 1)
        handle = self.handle.mean()
        higher = sum(
            rate * handle
            for cls, rate in self.arrivals_per_second.items()
            if self.policy.weight(cls) > weight
        )
        return predicted_wait(ahead, self.agents, handle, higher)
