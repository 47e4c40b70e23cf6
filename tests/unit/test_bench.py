"""The benchmark harness's pure pieces run on a tiny load (the harness itself is not a test)."""

from __future__ import annotations

import json

from bench import bench_routing, harness, load, log_bench
from bench.bare_loop import Pool


def test_decision_cost_on_a_tiny_pool() -> None:
    cost = bench_routing.measure(50, 10)
    assert 0 < cost.arrival_p50_us <= cost.arrival_p99_us
    assert 0 < cost.heap_p50_us <= cost.heap_p99_us


def test_bare_loop_queues_then_offers_by_class() -> None:
    pool = Pool()
    for message in [*load.contacts(10, pools=1), *load.agent_events(1, pools=1)]:
        body = json.loads(message.value)
        outputs = pool.decide(body)
    assert [kind for kind, _key, _out in outputs] == ["offers"]
    assert len(pool.waiting) == 9


def test_log_records_and_table() -> None:
    assert len(log_bench.records(10)) == 10
    assert harness._parser().parse_args(["--quick"]).contacts == 20_000
