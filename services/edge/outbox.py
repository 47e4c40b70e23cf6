"""Exactly once at the edge: every record an edge service publishes is staged, then published.

A provider retries what it thinks failed: Twilio re-posts a webhook with the same ``MessageSid``
or ``CallSid``, an SMTP client re-sends a ``Message-ID`` after a 451, a chat page re-sends a
frame id after a reconnect. Each such request builds the same records with the same event ids
(they are pure functions of the provider's id), so:

1. **stage** — insert each record into ``edge_outbox`` under (topic, event id); a record staged
   before (by the first attempt) stays as it was, and nothing new is added;
2. **flush** — publish every record of these keys that is not marked published yet, oldest first,
   and mark each once the broker has acknowledged it. The rows are locked while they are
   published, so a concurrent retry waits and then finds them published.

A first attempt that stored its records but could not publish them (broker away: the caller
answers 503 or 451) leaves them staged; the retry publishes exactly those, and when no retry
comes the gateway's re-sender (:meth:`EdgeOutbox.resend`) does. Records of one key (a contact)
always leave in the order they were staged, so a message never overtakes its contact's arrival.

The one window left is a crash between the broker's acknowledgement and the mark: the record is
then published again, with the same event id, and routing and the interaction log keep the first
copy (they recognise inputs by event id).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import asyncpg

from schemas.base import Record
from schemas.topics import ALL_TOPICS, TopicSpec
from services.publisher import Publisher
from streams.platform import metrics

log = logging.getLogger(__name__)

_TOPICS = {spec.name: spec for spec in ALL_TOPICS}


@dataclass(frozen=True)
class Outgoing:
    """One record for one topic, under its partition key."""

    topic: TopicSpec
    key: str
    record: Record


@dataclass(frozen=True)
class Backlog:
    """Records staged and not yet published: how many, and the oldest one's age in seconds."""

    count: int
    oldest_seconds: float


class EdgeOutbox:
    """Stage-then-publish over PostgreSQL (``edge_outbox``) and a :class:`Publisher`."""

    def __init__(self, pool: asyncpg.Pool, publisher: Publisher) -> None:
        self.pool = pool
        self.publisher = publisher

    async def publish(self, *items: Outgoing) -> None:
        """Stage these records (a record staged before keeps its first copy), then publish all
        that is pending for their keys. Raises ``PublishFailed`` when the broker is away: the
        records stay staged for the retry or the re-sender."""
        if not items:
            return
        await self.stage(items)
        await self.flush((item.topic, item.key) for item in items)

    async def stage(self, items: Sequence[Outgoing]) -> int:
        """Insert the records not staged yet; returns how many were new."""
        rows = [
            (i.topic.name, i.key, i.record.event_id, i.record.TYPE, i.record.to_bytes())
            for i in items
        ]
        async with self.pool.acquire() as connection, connection.transaction():
            new = 0
            for row in rows:  # in order: the sequence numbers follow the caller's order
                status = await connection.execute(
                    "INSERT INTO edge_outbox (topic, record_key, event_id, record_type, payload)"
                    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (topic, event_id) DO NOTHING",
                    *row,
                )
                new += str(status).endswith(" 1")
        if new < len(rows):
            metrics.EDGE_RETRIES_RECOGNISED.inc(len(rows) - new)
        return new

    async def flush(self, keys: Iterable[tuple[TopicSpec, str]]) -> int:
        """Publish, in staging order, every unpublished record of these (topic, key) pairs and
        mark each; returns how many were published here."""
        pairs = sorted({(topic.name, key) for topic, key in keys})
        if not pairs:
            return 0
        async with self.pool.acquire() as connection, connection.transaction():
            pending = await connection.fetch(
                "SELECT seq, topic, record_key, record_type, payload FROM edge_outbox"
                " WHERE (topic, record_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
                " AND published_at IS NULL ORDER BY seq FOR UPDATE",
                [topic for topic, _ in pairs],
                [key for _, key in pairs],
            )
            published, failure = await self._publish_rows(connection, pending)
        if failure is not None:  # raised after the commit: what did leave stays marked
            raise failure
        return published

    async def resend(self, older_than_seconds: float, limit: int = 500) -> int:
        """Publish records that stayed unpublished longer than ``older_than_seconds`` (no retry
        came for them); rows another gateway is publishing right now are left to it."""
        async with self.pool.acquire() as connection, connection.transaction():
            pending = await connection.fetch(
                "SELECT seq, topic, record_key, record_type, payload FROM edge_outbox"
                " WHERE published_at IS NULL"
                " AND staged_at <= now() - make_interval(secs => $1)"
                " ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED",
                float(older_than_seconds),
                limit,
            )
            published, failure = await self._publish_rows(connection, pending)
        if published:
            metrics.EDGE_RESENT.inc(published)
        if failure is not None:
            raise failure
        return published

    async def backlog(self) -> Backlog:
        row = await self.pool.fetchrow(
            "SELECT count(*) AS n,"
            " coalesce(extract(epoch FROM now() - min(staged_at)), 0) AS oldest"
            " FROM edge_outbox WHERE published_at IS NULL"
        )
        assert row is not None
        return Backlog(int(row["n"]), float(row["oldest"]))

    async def prune(self, keep_seconds: float) -> int:
        """Forget published records older than ``keep_seconds``: longer than any provider
        retries (SMTP clients retry for days), since the event id is what dedupes a retry here.
        """
        status = await self.pool.execute(
            "DELETE FROM edge_outbox WHERE published_at IS NOT NULL"
            " AND published_at < now() - make_interval(secs => $1)",
            float(keep_seconds),
        )
        return int(str(status).rsplit(" ", 1)[-1] or 0)

    async def _publish_rows(
        self, connection: asyncpg.Connection, rows: Sequence[asyncpg.Record]
    ) -> tuple[int, Exception | None]:
        """Publish the rows in order and mark those the broker acknowledged; stop at the first
        failure (a later record of the same key must not overtake it) and return it, so the
        caller raises it after the marks are committed."""
        published: list[int] = []
        failure: Exception | None = None
        for row in rows:
            try:
                await self.publisher.publish_encoded(
                    _TOPICS[row["topic"]], row["record_key"], row["payload"], row["record_type"]
                )
            except Exception as exc:
                failure = exc
                break
            published.append(row["seq"])
        if published:
            await connection.execute(
                "UPDATE edge_outbox SET published_at = now() WHERE seq = ANY($1::bigint[])",
                published,
            )
        return len(published), failure


async def run_resender(
    outbox: EdgeOutbox,
    *,
    resend_after_seconds: float,
    keep_seconds: float,
    interval: float = 1.0,
    component: str = "edge_outbox",
) -> None:
    """Publish what stayed staged (no retry came), export the backlog, forget old records.
    Runs until cancelled; a failure is counted and tried again at the next interval."""
    prune_every = max(1, int(3600 / interval))
    rounds = 0
    while True:
        try:
            await outbox.resend(resend_after_seconds)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the broker or PostgreSQL is away: the backlog shows it
            metrics.ERRORS.labels(component=component, kind=type(exc).__name__).inc()
            log.debug("edge outbox re-send failed: %r", exc)
        try:
            backlog = await outbox.backlog()
            metrics.EDGE_OUTBOX_PENDING.set(backlog.count)
            metrics.EDGE_OUTBOX_OLDEST_PENDING.set(backlog.oldest_seconds)
            if rounds % prune_every == 0:
                await outbox.prune(keep_seconds)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            metrics.ERRORS.labels(component=component, kind=type(exc).__name__).inc()
        rounds += 1
        await asyncio.sleep(interval)
