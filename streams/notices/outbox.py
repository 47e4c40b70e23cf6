"""The notices outbox (``notice_outbox``): records written in the same PostgreSQL transaction as
the state they describe, published to the broker after the commit and again after a crash.

Both the streams worker (NoticeRequested, outbound call tasks) and the notifier (NoticeSent,
NoticeDeferred, NoticeFailed) write to it, and either publishes what is unpublished. Event ids
are deterministic, so a record written twice is stored once and a record published twice (a
crash between the send and marking it published) is recognisable downstream. Publishers take
one advisory lock, so they publish one at a time and in the order the records were written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from schemas.base import Record

# pg_advisory_xact_lock(namespace, key): the namespace keeps these apart from other lock users
OUTBOX_LOCK = (0x4E4F5442, 0)  # "NOTB"

Send = Callable[[str, bytes | None, bytes], Awaitable[None]]


async def add_to_outbox(conn: Any, topic: str, key: str, record: Record) -> None:
    """Within the caller's transaction; a record with the same event id is kept once."""
    await conn.execute(
        "INSERT INTO notice_outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (event_id) DO NOTHING",
        record.event_id,
        topic,
        key.encode(),
        record.to_bytes(),
    )


async def publish_outbox(pool: Any, send: Send, limit: int = 500) -> int:
    """Publish unpublished records in order; marked published once the broker has them all.

    A failure part-way leaves the whole batch unpublished, to be sent again (harmless: the
    event ids are deterministic)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", *OUTBOX_LOCK)
        rows = await conn.fetch(
            "SELECT event_id, topic, key, payload FROM notice_outbox WHERE published_at IS NULL"
            " ORDER BY created_at, event_id LIMIT $1",
            limit,
        )
        for row in rows:
            await send(row["topic"], row["key"], row["payload"])
        if rows:
            await conn.execute(
                "UPDATE notice_outbox SET published_at = now() WHERE event_id = ANY($1::text[])",
                [row["event_id"] for row in rows],
            )
    return len(rows)
