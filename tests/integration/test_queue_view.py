"""The waiting line as the desk's queue view and the chat page's place in line read it, over
rows the real routing processor stored in the real PostgreSQL."""

from __future__ import annotations

import asyncpg
import pytest

from schemas import agents as ag
from schemas import contacts as ct
from services.queue_view import place_in_line, unservable_lines, waiting_by_class
from streams.routing.store_pg import PostgresRoutingStore
from tests.support.routing_fakes import MemoryPublisher
from tests.support.routing_inputs import POOL, arrival, at, batch, login, processor

pytestmark = pytest.mark.integration

WEIGHTS = {"vip": 100.0, "standard": 0.0}
DEFAULT_HANDLE_SECONDS = 300.0  # PoolConfig's, before any completion: a rough estimate


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
    assert places["c3"].rough and not places["c3"].no_agent
    assert [line.as_json() for line in lines] == [
        {"customer_class": "standard", "waiting": 2, "longest_wait_seconds": 62.0},
        {"customer_class": "vip", "waiting": 1, "longest_wait_seconds": 61.0},
    ]
    assert missing.status is None and missing.position is None


def _french_chat(contact: str, when: float) -> ct.ContactArrived:
    return ct.ContactArrived(
        pool_id=POOL,
        contact_id=contact,
        channel=ct.Channel.CHAT,
        customer_class="standard",
        skills={"lang_fr": 1},
        occurred_at=at(when),
        event_id=f"arr-{contact}",
    )


async def test_a_contact_no_logged_in_agent_can_take_is_no_agent_available_everywhere(
    database_url: str,
) -> None:
    """The French chat with only an English agent ready: no number for the customer, and
    every agent's queue view lists it, whatever their skills."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        routing = processor(PostgresRoutingStore(pool), MemoryPublisher())[0]
        english = ag.AgentLoggedIn(
            pool_id=POOL,
            agent_id="en-1",
            skills={"lang_en": 5},
            occurred_at=at(0),
            event_id="in-en-1",
        )
        ready = ag.AgentReady(pool_id=POOL, agent_id="en-1", occurred_at=at(0), event_id="rd")
        await routing.process(0, batch([english, ready, _french_chat("fr-1", 1)]))
        waiting = await place_in_line(pool, POOL, "fr-1", WEIGHTS, 1.0)
        lines = await unservable_lines(pool, POOL, now=at(21).timestamp())
        english_view = await waiting_by_class(pool, POOL, {"lang_en": 5})
        french = ag.AgentLoggedIn(
            pool_id=POOL,
            agent_id="fr-9",
            skills={"lang_fr": 4},
            occurred_at=at(30),
            event_id="in-fr-9",
        )
        await routing.process(0, batch([french], first_offset=3))
        after_login = await place_in_line(pool, POOL, "fr-1", WEIGHTS, 1.0)
        lines_after = await unservable_lines(pool, POOL, now=at(31).timestamp())
    finally:
        await pool.close()
    assert (waiting.status, waiting.position, waiting.no_agent) == ("waiting", 1, True)
    assert waiting.predicted_wait_seconds is None
    assert english_view == []  # the English agent's skills do not cover it...
    assert [line.as_json() for line in lines] == [  # ...yet it is shown
        {"channel": "chat", "requirement": "lang_fr>=1", "waiting": 1, "longest_wait_seconds": 20.0}
    ]
    # a French agent logged in (not ready yet): servable again, no number until one is ready
    assert (after_login.no_agent, after_login.predicted_wait_seconds) == (False, None)
    assert lines_after == []
