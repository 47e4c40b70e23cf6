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


def test_profile_summary_charges_each_sample_to_its_innermost_owner() -> None:
    from bench.profile_summary import summarise

    main = "_run_module_as_main (<frozen runpy>:198);Worker.execute (mode/worker.py:264)"
    lines = [
        f"{main};Stream._c_aiter (faust/streams.py:1180) 6",
        f"{main};Router.handle (streams/routing/domain/router.py:90);get (x.py:1) 2",
        f"{main};Stream._c_aiter (faust/streams.py:1);_PostgresTransaction.save"
        " (streams/routing/store_pg.py:167);Connection.execute (asyncpg/connection.py:380) 1",
        f"{main};BaseEventLoop._run_once (asyncio/base_events.py:1);"
        "EpollSelector.select (selectors.py:468) 1",
        "Thread._bootstrap (threading.py:1002);_PollLikeSelector.select (selectors.py:415) 10",
        "not a sample line",
    ]
    assert dict(summarise(lines)) == {
        "faust (streams, events, acks)": 0.3,
        "routing domain (the pure policy)": 0.1,
        "routing store (asyncpg statements)": 0.05,
        "main thread, idle (waiting on sockets)": 0.05,
        "fetch thread, idle": 0.5,
    }
