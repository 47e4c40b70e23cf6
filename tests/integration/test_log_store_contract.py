"""The interaction-log store contract, run against the in-memory fake and the real PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import asyncpg
import pytest

from schemas import routing as rt
from services.runtime.postgres import create_database
from streams import interaction_log as lw
from streams.platform.migrations import migrate
from tests.support.log_fakes import MemoryInteractionLog
from tests.support.log_records import T0, at, day_of_contacts, entries

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "postgres"])
async def store(
    request: pytest.FixtureRequest, postgres_server_url: str
) -> AsyncIterator[lw.InteractionLogStore]:
    if request.param == "memory":
        yield MemoryInteractionLog()
        return
    url = await create_database(postgres_server_url)
    await migrate(url)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        yield lw.PostgresInteractionLog(pool)
    finally:
        await pool.close()


async def test_an_event_id_is_stored_once_and_its_first_copy_kept(
    store: lw.InteractionLogStore,
) -> None:
    records = day_of_contacts()
    first = await store.write(entries(records + records[:2]))
    assert [e.record.event_id for e in first.written] == [r.event_id for r in records]
    again = await store.write(entries(records[3:6] + records[:1]))
    assert again.written == [] and again.labels == {}
    c1 = await store.contact("c1")
    assert c1 is not None and (c1.offers, c1.rejections, c1.requeues) == (2, 1, 1)


async def test_the_lifecycle_is_the_same_in_any_order_and_split(
    store: lw.InteractionLogStore,
) -> None:
    records = day_of_contacts()
    random.Random(11).shuffle(records)
    for start in range(0, len(records), 7):
        await store.write(entries(records[start : start + 7]))
    c1, c3, c4 = [await store.contact(c) for c in ("c1", "c3", "c4")]
    assert c1 is not None and c3 is not None and c4 is not None
    assert (c1.customer_class, c1.channel, c1.customer_key) == ("vip", "voice", "cust-1")
    assert (c1.agent_id, c1.wait_seconds, c1.handle_seconds) == ("a1", 10, 100)
    assert (c1.arrived_at, c1.first_offered_at, c1.answered_at) == (T0, at(1), at(10))
    assert (c1.completed_at, c1.disposition) == (at(110), "resolved")
    assert (c3.removed_reason, c3.abandoned_at, c3.ended_at) == ("abandoned", at(55), at(55))
    assert (c4.channel, c4.answered_at, c4.completed_at) == ("sms", at(3605), None)
    assert await store.contact("nobody") is None


async def test_outcomes_carry_the_class_and_channel_of_their_contact(
    store: lw.InteractionLogStore,
) -> None:
    records = day_of_contacts()
    outcomes = [r for r in records if isinstance(r, rt.ContactAssigned | rt.ContactRemoved)]
    rest = [r for r in records if r not in outcomes]
    await store.write(entries(rest))
    result = await store.write(entries(outcomes))
    assert result.labels == {
        "c1": ("vip", "voice"),
        "c2": ("standard", "voice"),
        "c3": ("standard", "voice"),
        "c4": ("standard", "sms"),
    }
