"""The interaction log writer against the real PostgreSQL: projection, idempotence, the
standard metric views, and a PostgreSQL outage in the middle of a stream of batches."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from schemas import agents as ag
from schemas import contacts as ct
from schemas import routing as rt
from schemas.base import Record
from streams import interaction_log as lw
from tests.support.metrics import sample_value
from tests.support.pg_proxy import SwitchableProxy

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # an interval start (15-minute bins)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    yield p
    await p.close()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def entries(records: list[Record], topic: str = "interactions") -> list[lw.LogEntry]:
    return [lw.LogEntry(r, topic, 0, i) for i, r in enumerate(records)]


def day_of_contacts() -> list[Record]:
    """c1 vip voice: answered at 10 s after one decline, handled 100 s. c2 standard voice:
    answered at 30 s, handled 60 s. c3 standard voice: abandoned at 50 s. c4 standard sms from
    the same customer as c2 an hour later: answered at 5 s. Agent a1 ready from T0."""
    k = {"pool_id": "p1", "cause_event_id": "cause"}
    out: list[Record] = [
        rt.AgentStateChanged(agent_id="a1", state="ready", reason="login", occurred_at=T0, **k),
        rt.AgentStateChanged(agent_id="a2", state="ready", reason="login", occurred_at=T0, **k),
    ]

    def contact(cid: str, klass: str, channel: str, start: float, customer: str) -> None:
        out.append(
            ct.ContactArrived(
                pool_id="p1",
                contact_id=cid,
                channel=ct.Channel(channel),
                customer=ct.CustomerRef(customer_id=customer),
                customer_class="standard",  # the gateway's guess; routing's class wins
                occurred_at=at(start),
            )
        )
        out.append(
            rt.ContactQueued(
                contact_id=cid,
                customer_class=klass,
                channel=channel,
                priority=1.0,
                arrived_at=at(start),
                occurred_at=at(start),
                **k,
            )
        )

    def offer(cid: str, agent: str, attempt: int, t: float) -> rt.OfferMade:
        made = rt.OfferMade(
            offer_id=f"{cid}:{attempt}",
            contact_id=cid,
            agent_id=agent,
            attempt=attempt,
            expires_at=at(t + 20),
            explanation={"winner": agent, "score": attempt},
            occurred_at=at(t),
            **k,
        )
        out.append(made)
        return made

    contact("c1", "vip", "voice", 0, "cust-1")
    offer("c1", "a2", 1, 1)
    out.append(
        rt.OfferDeclined(offer_id="c1:1", contact_id="c1", agent_id="a2", occurred_at=at(3), **k)
    )
    out.append(
        rt.ContactRequeued(
            contact_id="c1", reason="declined", arrived_at=at(0), occurred_at=at(3), **k
        )
    )
    offer("c1", "a1", 2, 4)
    out.append(
        rt.ContactAssigned(
            contact_id="c1",
            agent_id="a1",
            offer_id="c1:2",
            waited_seconds=10,
            occurred_at=at(10),
            **k,
        )
    )
    out.append(
        rt.ContactReleased(
            contact_id="c1",
            agent_id="a1",
            disposition="resolved",
            handle_seconds=100,
            occurred_at=at(110),
            **k,
        )
    )
    contact("c2", "standard", "voice", 0, "cust-2")
    offer("c2", "a2", 1, 25)
    out.append(
        rt.ContactAssigned(
            contact_id="c2",
            agent_id="a2",
            offer_id="c2:1",
            waited_seconds=30,
            occurred_at=at(30),
            **k,
        )
    )
    out.append(
        rt.ContactReleased(
            contact_id="c2",
            agent_id="a2",
            disposition="sold",
            handle_seconds=60,
            occurred_at=at(90),
            **k,
        )
    )
    contact("c3", "standard", "voice", 5, "cust-3")
    out.append(ct.ContactAbandoned(pool_id="p1", contact_id="c3", occurred_at=at(55)))
    out.append(
        rt.ContactRemoved(
            contact_id="c3", reason="abandoned", waited_seconds=50, occurred_at=at(55), **k
        )
    )
    contact("c4", "standard", "sms", 3600, "cust-2")
    offer("c4", "a1", 1, 3601)
    out.append(
        rt.ContactAssigned(
            contact_id="c4",
            agent_id="a1",
            offer_id="c4:1",
            waited_seconds=5,
            occurred_at=at(3605),
            **k,
        )
    )
    out.append(
        rt.AgentStateChanged(
            agent_id="a1", state="logged_out", reason="logout", occurred_at=at(3700), **k
        )
    )
    out.append(
        rt.AgentStateChanged(
            agent_id="a2", state="logged_out", reason="logout", occurred_at=at(900), **k
        )
    )
    out.append(ag.AgentReady(pool_id="p1", agent_id="a1", occurred_at=T0))
    return out


async def test_lifecycle_projection_is_order_insensitive(pool: asyncpg.Pool) -> None:
    records = day_of_contacts()
    shuffled = records[:]
    random.Random(7).shuffle(shuffled)
    writer = lw.InteractionLogWriter(pool)
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
        writer = lw.InteractionLogWriter(pool, method=method)
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
    writer = lw.InteractionLogWriter(pool)
    labels = {"customer_class": "vip", "channel": "voice"}
    first = await writer.write(entries(records))
    answered = sample_value("contactcenter_contacts_answered_total", labels)
    again = await writer.write(entries(records + records[:3]))
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
        writer = lw.InteractionLogWriter(db)
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
    writer = lw.InteractionLogWriter(pool)

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
