"""The waiting line as the desk's queue view and the chat page's place in line read it, over
rows the real routing processor stored in the real PostgreSQL."""

from __future__ import annotations

import asyncpg
import pytest

from services.queue_view import DEFAULT_HANDLE_SECONDS, place_in_line, waiting_by_class
from streams.routing.store_pg import PostgresRoutingStore
from tests.support.routing_fakes import MemoryPublisher
from tests.support.routing_inputs import POOL, arrival, at, batch, login, processor

pytestmark = pytest.mark.integration

WEIGHTS = {"vip": 100.0, "standard": 0.0}


async def test_place_in_line_follows_routing_priority_and_the_queue_counts_per_class(
    database_url: str,
) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        routing = processor(PostgresRoutingStore(pool), MemoryPublisher())[0]
        # a1 is offered c1 (a call occupies the agent); the rest wait
        inputs = [
            *login("a1", 0),
            arrival("c1", 1),
            arrival("c2", 2),
            arrival("c3", 3, "vip"),
            arrival("c4", 4),
        ]
        await routing.process(0, batch(inputs))
        places = {
            c: await place_in_line(pool, POOL, c, WEIGHTS, 1.0) for c in ("c1", "c2", "c3", "c4")
        }
        lines = await waiting_by_class(pool, POOL, {}, now=at(64).timestamp())
        missing = await place_in_line(pool, POOL, "nope", WEIGHTS, 1.0)
    finally:
        await pool.close()
    assert (places["c1"].status, places["c1"].agent_id, places["c1"].position) == (
        "offered",
        "a1",
        None,
    )
    # the VIP who came later is ahead of both standard contacts
    assert [places[c].position for c in ("c3", "c2", "c4")] == [1, 2, 3]
    # one ready agent, busy, no handle times yet: a completion each (the default handle time)
    # for the contacts ahead and for the agent's current one
    assert places["c3"].predicted_wait_seconds == DEFAULT_HANDLE_SECONDS
    assert places["c4"].predicted_wait_seconds == 3 * DEFAULT_HANDLE_SECONDS
    assert [line.as_json() for line in lines] == [
        {"customer_class": "standard", "waiting": 2, "longest_wait_seconds": 62.0},
        {"customer_class": "vip", "waiting": 1, "longest_wait_seconds": 61.0},
    ]
    assert missing.status is None and missing.position is None
