"""The interaction log writer against the real PostgreSQL: projection, idempotence, the
standard metric views, and a PostgreSQL outage in the middle of a stream of batches."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator

import asyncpg
import pytest

from schemas import agents as ag
from schemas import routing as rt
from services.harness.pg_proxy import SwitchableProxy
from streams import interaction_log as lw
from tests.support.log_records import T0, at, day_of_contacts, entries
from tests.support.metrics import sample_value

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    yield p
    await p.close()


async def test_lifecycle_projection_is_order_insensitive(pool: asyncpg.Pool) -> None:
    records = day_of_contacts()
    shuffled = records[:]
    random.Random(7).shuffle(shuffled)
    writer = lw.PostgresInteractionLog(pool)
    # any order, split over batches (an offer's outcome may come before the offer)
    await writer.write(entries(shuffled[:13]))
    await writer.write(entries(shuffled[13:]))

    async with pool.acquire() as db:
        assert await db.fetchval("SELECT count(*) FROM interaction_events") == len(records)
        rows = {r["contact_id"]: r for r in await db.fetch("SELECT * FROM contacts")}
        c1 = rows["c1"]
        assert (c1["status"], c1["customer_class"], c1["channel"]) == ("completed", "vip", "voice")
        assert (c1["agent_id"], c1["wait_seconds"], c1["handle_seconds"]) == ("a1", 10, 100)
        assert (c1["offers"], c1["rejections"], c1["requeues"]) == (2, 1, 1)
        assert c1["arrived_at"] == T0 and c1["first_offered_at"] == at(1)
        assert c1["disposition"] == "resolved" and c1["customer_key"] == "cust-1"
        assert rows["c3"]["status"] == "abandoned" and rows["c3"]["wait_seconds"] == 50
        assert rows["c3"]["ended_at"] == at(55)
        assert rows["c4"]["status"] == "assigned"

        decisions = {r["offer_id"]: r for r in await db.fetch("SELECT * FROM routing_decisions")}
        assert decisions["c1:1"]["outcome"] == "declined"
        assert decisions["c1:2"]["outcome"] == "accepted"
        assert json.loads(decisions["c1:2"]["explanation"]) == {"winner": "a1", "score": 2}
        assert await db.fetchval("SELECT count(*) FROM agent_state_history") == 4

        m = await db.fetch(
            "SELECT * FROM contact_metrics_15m WHERE interval_start = $1 ORDER BY customer_class",
            T0,
        )
        std = next(r for r in m if r["customer_class"] == "standard")
        vip = next(r for r in m if r["customer_class"] == "vip")
        # standard voice in the first interval: c2 answered at 30 s, c3 abandoned at 50 s
        assert (std["offered"], std["answered"], std["abandoned"]) == (2, 1, 1)
        assert std["service_level"] == 0.0 and std["abandonment_rate"] == 0.5
        assert std["asa_seconds"] == 30 and std["aht_seconds"] == 60
        assert vip["service_level"] == 1.0 and vip["service_level_abandons"] == 1.0
        later = await db.fetchrow(
            "SELECT * FROM contact_metrics_15m WHERE interval_start = $1", at(3600)
        )
        assert later["repeat_contacts"] == 1 and later["repeat_contact_rate"] == 1.0
        assert later["channel"] == "sms" and later["service_level"] == 1.0

        occupancy = {
            r["interval_start"]: r
            for r in await db.fetch("SELECT * FROM agent_occupancy_15m WHERE pool_id = 'p1'")
        }
        first = occupancy[T0]
        # a1 busy 10..110, a2 busy 30..90; both staffed the whole first 15 minutes
        assert first["staffed_seconds"] == pytest.approx(1800)
        assert first["busy_seconds"] == pytest.approx(160)
        assert first["occupancy"] == pytest.approx(160 / 1800)


LOG_TABLES = ("interaction_events", "contacts", "routing_decisions", "agent_state_history")
WRITTEN_AT = {"recorded_at", "updated_at"}


async def _tables(db: asyncpg.Connection) -> dict[str, list[dict[str, object]]]:
    return {
        table: [
            {k: v for k, v in r.items() if k not in WRITTEN_AT}
            for r in await db.fetch(f"SELECT * FROM {table}")
        ]
        for table in LOG_TABLES
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_copy_and_insert_paths_write_the_same_rows(pool: asyncpg.Pool, seed: int) -> None:
    """Any order, any split over batches, duplicates included: both write paths agree."""
    rng = random.Random(seed)
    records = day_of_contacts()
    shuffled = records + rng.sample(records, 5)
    rng.shuffle(shuffled)
    cuts = sorted(rng.sample(range(1, len(shuffled)), 3))
    batches = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
    written = []
    for method in ("insert", "copy"):
        writer = lw.PostgresInteractionLog(pool, method=method)
        for batch in batches:
            await writer.write(entries(batch))
        async with pool.acquire() as db:
            written.append(await _tables(db))
            await db.execute(f"TRUNCATE {', '.join(LOG_TABLES)}")
    for table in LOG_TABLES:
        key = "contact_id" if table == "contacts" else "event_id"
        insert, copy = (sorted(w[table], key=lambda r: str(r[key])) for w in written)
        assert insert == copy, table


async def test_redelivered_records_write_nothing_twice(pool: asyncpg.Pool) -> None:
    records = day_of_contacts()
    writer = lw.PostgresInteractionLog(pool)
    labels = {"customer_class": "vip", "channel": "voice"}
    first = await writer.write(entries(records))
    lw.observe(first)
    answered = sample_value("contactcenter_contacts_answered_total", labels)
    again = await writer.write(entries(records + records[:3]))
    lw.observe(again)
    assert len(first.written) == len(records) and again.written == []
    assert sample_value("contactcenter_contacts_answered_total", labels) == answered
    async with pool.acquire() as db:
        assert await db.fetchval("SELECT count(*) FROM interaction_events") == len(records)
        c1 = await db.fetchrow("SELECT * FROM contacts WHERE contact_id = 'c1'")
        assert (c1["offers"], c1["rejections"]) == (2, 1)


async def test_postgres_outage_mid_stream_loses_nothing(database_url: str) -> None:
    proxy = SwitchableProxy(database_url)
    await proxy.start()
    db = await asyncpg.create_pool(proxy.url, min_size=1, max_size=2, timeout=2)
    try:
        writer = lw.PostgresInteractionLog(db)
        records = [ag.AgentReady(pool_id="p", agent_id=f"a{i}") for i in range(300)]
        batches = [entries(records[i : i + 50]) for i in range(0, 300, 50)]
        await lw.write_with_retry(writer.write, batches[0])
        await proxy.cut()
        failures = sample_value("contactcenter_db_write_failures_total", {"writer": lw.WRITER})

        async def stream() -> None:
            for batch in batches[1:]:
                await lw.write_with_retry(writer.write, batch, max_backoff=0.5)

        task = asyncio.create_task(stream())
        await asyncio.sleep(2.0)
        assert not task.done()  # waiting for PostgreSQL, not dropping the batch
        assert sample_value("contactcenter_db_up", {"writer": lw.WRITER}) == 0
        assert (
            sample_value("contactcenter_db_write_failures_total", {"writer": lw.WRITER}) > failures
        )
        await proxy.start()  # back, on the same port
        await asyncio.wait_for(task, 30)
        assert sample_value("contactcenter_db_up", {"writer": lw.WRITER}) == 1
    finally:
        await db.close()
        with contextlib.suppress(Exception):
            await proxy.cut()
    check = await asyncpg.connect(database_url)
    try:
        assert await check.fetchval("SELECT count(*) FROM interaction_events") == 300
    finally:
        await check.close()


async def test_a_contact_whose_offer_ended_reads_queued_until_the_next_offer(
    pool: asyncpg.Pool,
) -> None:
    k = {"pool_id": "p1", "cause_event_id": "cause", "contact_id": "c9"}
    queued = rt.ContactQueued(
        customer_class="standard", channel="chat", priority=0, arrived_at=T0, occurred_at=T0, **k
    )

    def offer(attempt: int, when: float) -> rt.OfferMade:
        return rt.OfferMade(
            offer_id=f"c9:{attempt}",
            agent_id="a1",
            attempt=attempt,
            expires_at=at(when + 20),
            occurred_at=at(when),
            **k,
        )

    expired = rt.OfferExpired(offer_id="c9:1", agent_id="a1", occurred_at=at(21), **k)
    rescinded = rt.OfferRescinded(
        offer_id="c9:2", agent_id="a1", reason="agent_not_ready", occurred_at=at(23), **k
    )
    writer = lw.PostgresInteractionLog(pool)

    async def status() -> str:
        async with pool.acquire() as db:
            return str(await db.fetchval("SELECT status FROM contacts WHERE contact_id = 'c9'"))

    await writer.write(entries([queued, offer(1, 1)]))
    assert await status() == "offered"
    await writer.write(entries([expired]))
    assert await status() == "queued"
    await writer.write(entries([offer(2, 22)]))
    assert await status() == "offered"
    await writer.write(entries([rescinded]))
    assert await status() == "queued"
