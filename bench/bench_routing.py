"""Routing decision cost against queue size: per-decision time should grow like log n.

Each figure is the time of one ``Router.handle`` call: an agent going ready (it pulls the best
eligible contacts and gets offers) and a contact arriving into a pool whose agents are busy,
beside a bare ``heapq`` push and pop on a heap of the same size.

Run: .venv/bin/python -m bench.bench_routing
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from streams.routing import domain

SKILLS = ["billing", "tech", "orders", "fr"]
SAMPLES = 1000


@dataclass(frozen=True)
class DecisionCost:
    waiting: int
    agents: int
    ready_p50_us: float
    ready_p99_us: float
    arrival_p50_us: float
    arrival_p99_us: float
    heap_p50_us: float
    heap_p99_us: float


def build(waiting: int, agents: int) -> tuple[domain.Router, float]:
    router = domain.Router(domain.PoolConfig(), "bench")
    now = 1_000_000.0
    rng = random.Random(1)
    for n in range(agents):
        router.handle(
            domain.AgentLoggedIn(f"a{n}", {s: rng.randint(1, 10) for s in rng.sample(SKILLS, 2)}),
            now,
        )
    for n in range(waiting):
        now += 0.001
        router.handle(
            domain.ContactArrived(
                f"c{n}",
                rng.choice(list(domain.Channel)),
                rng.choice(["vip", "standard", "standard", "standard"]),
                {rng.choice(SKILLS): 1},
            ),
            now,
        )
    return router, now


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] * 1e6, ordered[int(len(ordered) * 0.99)] * 1e6


def timed(calls: list[Callable[[], object]]) -> list[float]:
    out: list[float] = []
    clock = time.perf_counter
    for call in calls:
        started = clock()
        call()
        out.append(clock() - started)
    return out


def measure(waiting: int, agents: int) -> DecisionCost:
    router, now = build(waiting, agents)
    ready = timed(
        [
            (lambda n=n: router.handle(domain.AgentReady(f"a{n}"), now))  # type: ignore[misc]
            for n in range(min(agents, SAMPLES))
        ]
    )
    arrivals = timed(
        [
            (
                lambda n=n: router.handle(
                    domain.ContactArrived(f"x{n}", domain.Channel.VOICE, "vip", {"billing": 1}),
                    now + n * 0.001,
                )
            )
            for n in range(SAMPLES)
        ]
    )
    rng = random.Random(2)
    heap = [(rng.random(), n) for n in range(waiting)]
    heapq.heapify(heap)
    bare = timed(
        [
            (lambda n=n: heapq.heappush(heap, (rng.random(), n)) or heapq.heappop(heap))
            for n in range(SAMPLES)
        ]
    )
    return DecisionCost(
        waiting, agents, *percentiles(ready), *percentiles(arrivals), *percentiles(bare)
    )


def sizes(quick: bool = False) -> list[tuple[int, int]]:
    waiting = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    return [(w, a) for w in waiting for a in (100, 1_000, 10_000)]


if __name__ == "__main__":
    for w, a in sizes():
        cost = measure(w, a)
        print(
            f"waiting {w:>7,} agents {a:>6,}: ready p50 {cost.ready_p50_us:7.1f} "
            f"p99 {cost.ready_p99_us:7.1f} µs, arrival p50 {cost.arrival_p50_us:6.1f} "
            f"p99 {cost.arrival_p99_us:6.1f} µs, heap p50 {cost.heap_p50_us:5.2f} "
            f"p99 {cost.heap_p99_us:5.2f} µs"
        )
