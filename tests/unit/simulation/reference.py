"""An independent textbook queue to hold the simulated policy against: c servers,
non-preemptive priority by class (first come first served within a class, and overall
when there is one class), fed the same random draws the engine makes (every stream's first
arrival in stream order, then at each arrival the stream's next gap and the handle time)."""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Iterator, Sequence


def arrivals(
    rates: Sequence[float], mean_handle: float, end: float, rng: random.Random
) -> Iterator[tuple[float, int, float]]:
    """(time, stream, handle) in time order until ``end``; rates per second."""
    upcoming = [(rng.expovariate(rate), index) for index, rate in enumerate(rates)]
    heapq.heapify(upcoming)
    while upcoming and upcoming[0][0] < end:
        t, index = heapq.heappop(upcoming)
        heapq.heappush(upcoming, (t + rng.expovariate(rates[index]), index))
        yield t, index, rng.expovariate(1 / mean_handle)


def priority_waits(
    rates: Sequence[float], servers: int, mean_handle: float, end: float, seed: int, start: float
) -> list[list[float]]:
    """Waits per stream (streams in priority order, first highest) of the contacts that
    arrive from ``start`` on."""
    free = [0.0] * servers
    waiting: list[deque[tuple[float, float]]] = [deque() for _ in rates]
    waits: list[list[float]] = [[] for _ in rates]

    def serve(at: float, arrived: float, handle: float, stream: int) -> None:
        heapq.heappush(free, at + handle)
        if arrived >= start:
            waits[stream].append(at - arrived)

    def release_until(t: float) -> None:
        while free[0] <= t and any(waiting):
            at = heapq.heappop(free)
            stream = next(n for n, queue in enumerate(waiting) if queue)
            arrived, handle = waiting[stream].popleft()
            serve(at, arrived, handle, stream)

    for t, stream, handle in arrivals(rates, mean_handle, end, random.Random(seed)):
        release_until(t)
        if free[0] <= t:
            heapq.heappop(free)
            serve(t, t, handle, stream)
        else:
            waiting[stream].append((t, handle))
    release_until(float("inf"))
    return waits
