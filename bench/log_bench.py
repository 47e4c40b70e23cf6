"""Interaction log: records per second into PostgreSQL through each write path of the writer
(rows built, events and projections written), beside a bare COPY of the same ready-made event
rows into a table without keys or indexes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import asyncpg

from bench.pipeline import Env
from schemas import contacts as ct
from schemas import routing as rt
from schemas.base import Record
from services.runtime.local import isolated_settings
from streams import interaction_log as lw

BATCH = 1000
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def records(count: int) -> list[Record]:
    """Arrival, queueing and an offer per contact: the mix a busy log sees."""
    out: list[Record] = []
    k = {"pool_id": "pool-00", "cause_event_id": "cause"}
    for n in range(count // 3 + 1):
        at = T0 + timedelta(seconds=n * 0.01)
        cid = f"contact-{n:07d}"
        out.append(
            ct.ContactArrived(
                pool_id="pool-00", contact_id=cid, channel=ct.Channel.CHAT, occurred_at=at
            )
        )
        out.append(
            rt.ContactQueued(
                contact_id=cid,
                customer_class="vip",
                channel="chat",
                priority=1.0,
                arrived_at=at,
                occurred_at=at,
                **k,
            )
        )
        out.append(
            rt.OfferMade(
                offer_id=f"{cid}:1",
                contact_id=cid,
                agent_id=f"a{n % 40}",
                attempt=1,
                expires_at=at,
                explanation={"winner": "a"},
                occurred_at=at,
                **k,
            )
        )
    return out[:count]


async def write_rate(env: Env, entries: list[lw.LogEntry], method: str) -> float:
    settings = await isolated_settings(env.bootstrap_servers, env.postgres_url)
    pool = await asyncpg.create_pool(settings.require_database_url(), min_size=1, max_size=2)
    try:
        writer = lw.PostgresInteractionLog(
            pool, **({"method": method} if method != "insert" else {})
        )
        started = time.perf_counter()
        for n in range(0, len(entries), BATCH):
            await writer.write(entries[n : n + BATCH])
        return len(entries) / (time.perf_counter() - started)
    finally:
        await pool.close()


async def bare_copy_rate(env: Env, entries: list[lw.LogEntry]) -> float:
    settings = await isolated_settings(env.bootstrap_servers, env.postgres_url)
    connection = await asyncpg.connect(settings.require_database_url())
    try:
        await connection.execute("CREATE TABLE bare (LIKE interaction_events INCLUDING DEFAULTS)")
        rows = [lw.event_row(e) for e in entries]
        started = time.perf_counter()
        for n in range(0, len(rows), BATCH):
            await connection.copy_records_to_table(
                "bare", records=rows[n : n + BATCH], columns=lw.EVENT_COLUMNS
            )
        return len(entries) / (time.perf_counter() - started)
    finally:
        await connection.close()


async def rows(env: Env, count: int) -> list[tuple[str, str, str]]:
    entries = [lw.LogEntry(r, "interactions", 0, i) for i, r in enumerate(records(count))]
    bare = await bare_copy_rate(env, entries)
    out = []
    for method in ("insert", "copy"):
        rate = await write_rate(env, entries, method)
        out.append(
            (
                f"interaction log, {method} path (records/s, batches of {BATCH}, with projections)",
                f"{rate:,.0f}/s",
                f"bare COPY {bare:,.0f}/s",
            )
        )
    return out
