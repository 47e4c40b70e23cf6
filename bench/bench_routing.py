"""Routing decision cost against queue size: per-decision time should grow like log n.

Run: .venv/bin/python bench/bench_routing.py
"""

from __future__ import annotations

import random
import time

from streams import domain


def build(waiting: int, agents: int) -> tuple[domain.Router, float]:
    router = domain.Router(domain.PoolConfig(), "bench")
    now = 1_000_000.0
    rng = random.Random(1)
    skills = ["billing", "tech", "orders", "fr"]
    for n in range(agents):
        router.handle(
            domain.AgentLoggedIn(f"a{n}", {s: rng.randint(1, 10) for s in rng.sample(skills, 2)}),
            now,
        )
    for n in range(waiting):
        now += 0.001
        router.handle(
            domain.ContactArrived(
                f"c{n}",
                rng.choice(list(domain.Channel)),
                rng.choice(["vip", "standard", "standard", "standard"]),
                {rng.choice(skills): 1},
            ),
            now,
        )
    return router, now


def measure(waiting: int, agents: int = 200) -> None:
    router, now = build(waiting, agents)
    started = time.perf_counter()
    decisions = 0
    for n in range(agents):  # each ready agent pulls work from the full queues
        decisions += len(router.handle(domain.AgentReady(f"a{n}"), now))
    ready_seconds = time.perf_counter() - started
    started = time.perf_counter()
    arrivals = 2000
    for n in range(arrivals):
        now += 0.001
        router.handle(
            domain.ContactArrived(f"x{n}", domain.Channel.CHAT, "vip", {"billing": 1}), now
        )
    arrive_seconds = time.perf_counter() - started
    print(
        f"waiting {waiting:>7,}  agents {agents}: "
        f"agent-ready step {ready_seconds / agents * 1e6:8.1f} µs ({decisions} decisions), "
        f"arrival into a full pool {arrive_seconds / arrivals * 1e6:6.1f} µs"
    )


if __name__ == "__main__":
    for size in (1_000, 10_000, 100_000):
        measure(size)
