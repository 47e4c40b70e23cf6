"""``routing_live_contacts``: the typed view through which the desk and ops read routing's live
rows, over rows the real processor stored in the real PostgreSQL."""

from __future__ import annotations

import asyncpg
import pytest

from schemas import agents as ag
from streams.routing.store_pg import PostgresRoutingStore
from tests.support.routing_fakes import MemoryPublisher
from tests.support.routing_inputs import POOL, T0, arrival, at, batch, login, processor

pytestmark = pytest.mark.integration


async def test_the_view_shows_offers_and_assignments_as_typed_columns(database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        routing = processor(PostgresRoutingStore(pool), MemoryPublisher())[0]
        accept = ag.OfferAccepted(
            pool_id=POOL, offer_id="c1:1", agent_id="a1", occurred_at=at(3), event_id="acc"
        )
        inputs = [*login("a1", 0), *login("a2", 0), arrival("c1", 1), arrival("c2", 2), accept]
        await routing.process(0, batch(inputs))
        rows = {
            r["contact_id"]: dict(r)
            for r in await pool.fetch("SELECT * FROM routing_live_contacts ORDER BY contact_id")
        }
    finally:
        await pool.close()
    assigned, offered = rows["c1"], rows["c2"]
    assert (assigned["status"], assigned["agent_id"], assigned["offer_id"]) == (
        "assigned",
        "a1",
        "c1:1",
    )
    assert assigned["assigned_at"] == at(3).timestamp() and assigned["attempts"] == 1
    assert (offered["status"], offered["agent_id"], offered["offer_id"]) == (
        "offered",
        "a2",
        "c2:1",
    )
    assert offered["offer_expires_at"] == at(2).timestamp() + 20
    assert (offered["channel"], offered["customer_class"], offered["callback"]) == (
        "voice",
        "standard",
        False,
    )
    assert offered["arrived_at"] == at(2).timestamp() and T0.timestamp() < offered["arrived_at"]
