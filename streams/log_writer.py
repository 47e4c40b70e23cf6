"""The interaction log: every contact, agent, routing and dead-letter record into PostgreSQL.

One agent reads the contacts, agent-events, interactions and dead-letter topics in batches
(``stream.take_events``). Per batch, one transaction:

1. inserts the records into ``interaction_events`` (``ON CONFLICT DO NOTHING`` on the event id,
   ``RETURNING`` the ids that are new: a redelivered record writes nothing twice);
2. projects the *new* records only onto ``contacts`` (lifecycle), ``routing_decisions`` and
   ``agent_state_history`` with order-insensitive upserts (records of one contact come from
   several topics, so their relative order is not guaranteed).

The batch is acknowledged only after the transaction commits, so the Kafka offsets never pass
what PostgreSQL holds. When PostgreSQL is away the same batch is retried with capped
exponential backoff; the worker stays up and reports ``contactcenter_db_up{writer=...} 0``.
Metrics of contact outcomes are observed after the commit, for new records only, so they agree
with the rows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from schemas import contacts, routing
from schemas.base import Record
from schemas.codec import InvalidMessage, decode
from schemas.topics import AGENT_EVENTS, CONTACTS, DEAD_LETTER, INTERACTIONS
from streams.platform import metrics

log = logging.getLogger(__name__)

WRITER = "interaction_log"
BATCH_SIZE = 1000
BATCH_WITHIN = 0.2
MAX_BACKOFF_SECONDS = 10.0
SERVICE_LEVEL_REFRESH_SECONDS = 5.0
LIVE_REFRESH_SECONDS = 2.0
SERVICE_LEVEL_WINDOW = "1 hour"


@dataclass(frozen=True)
class LogEntry:
    """One consumed record and where it came from (topic without the deployment prefix)."""

    record: Record
    topic: str
    partition: int
    offset: int


# ---------------------------------------------------------------------------------------------
# Pure projection: record → rows
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ContactPatch:
    """What one record says about a contact; merged into ``contacts`` order-insensitively."""

    contact_id: str
    pool_id: str
    channel: str | None = None
    queue_class: str | None = None  # the class routing queued it with (wins)
    arrival_class: str | None = None  # the class the gateway gave (used when nothing else)
    customer_key: str | None = None
    subject: str | None = None
    arrived_at: datetime | None = None
    queued_at: datetime | None = None
    first_offered_at: datetime | None = None
    answered_at: datetime | None = None
    agent_id: str | None = None
    completed_at: datetime | None = None
    abandoned_at: datetime | None = None
    ended_at: datetime | None = None
    removed_reason: str | None = None
    wait_seconds: float | None = None
    handle_seconds: float | None = None
    disposition: str | None = None
    offers: int = 0
    rejections: int = 0
    expirations: int = 0
    requeues: int = 0
    callback_requested: bool = False
    rescinds: int = 0

    def args(self) -> tuple[Any, ...]:
        return (
            self.contact_id,
            self.pool_id,
            self.channel,
            self.queue_class,
            self.arrival_class,
            self.customer_key,
            self.subject,
            self.arrived_at,
            self.queued_at,
            self.first_offered_at,
            self.answered_at,
            self.agent_id,
            self.completed_at,
            self.abandoned_at,
            self.ended_at,
            self.removed_reason,
            self.wait_seconds,
            self.handle_seconds,
            self.disposition,
            self.offers,
            self.rejections,
            self.expirations,
            self.requeues,
            self.callback_requested,
            self.rescinds,
        )


def contact_patch(record: Record) -> ContactPatch | None:
    """The contact lifecycle change a record carries, or None."""
    at = record.occurred_at
    match record:
        case contacts.ContactArrived():
            customer = record.customer
            key = customer.customer_id or customer.phone or customer.email or customer.chat_id
            return ContactPatch(
                record.contact_id,
                record.pool_id,
                channel=str(record.channel),
                arrival_class=record.customer_class,
                customer_key=key,
                subject=record.subject,
                arrived_at=record.arrived_at or at,
            )
        case contacts.ContactEnded() | contacts.ContactAbandoned():
            return ContactPatch(record.contact_id, record.pool_id, ended_at=at)
        case contacts.CallbackRequested():
            return ContactPatch(record.contact_id, record.pool_id, callback_requested=True)
        case routing.ContactQueued():
            return ContactPatch(
                record.contact_id,
                record.pool_id,
                channel=record.channel,
                queue_class=record.customer_class,
                arrived_at=record.arrived_at,
                queued_at=at,
            )
        case routing.OfferMade():
            return ContactPatch(record.contact_id, record.pool_id, first_offered_at=at, offers=1)
        case routing.ContactAssigned():
            return ContactPatch(
                record.contact_id,
                record.pool_id,
                answered_at=at,
                agent_id=record.agent_id,
                wait_seconds=record.waited_seconds,
            )
        case routing.OfferDeclined():
            return ContactPatch(record.contact_id, record.pool_id, rejections=1)
        case routing.OfferExpired():
            return ContactPatch(record.contact_id, record.pool_id, expirations=1)
        case routing.ContactRequeued():
            return ContactPatch(record.contact_id, record.pool_id, requeues=1)
        case routing.OfferRescinded():
            return ContactPatch(record.contact_id, record.pool_id, rescinds=1)
        case routing.ContactRemoved():
            abandoned = record.reason == "abandoned"
            return ContactPatch(
                record.contact_id,
                record.pool_id,
                removed_reason=record.reason,
                abandoned_at=at if abandoned else None,
                wait_seconds=record.waited_seconds,
            )
        case routing.ContactReleased():
            return ContactPatch(
                record.contact_id,
                record.pool_id,
                completed_at=at,
                agent_id=record.agent_id,
                handle_seconds=record.handle_seconds,
                disposition=record.disposition,
            )
    return None


def decision_row(record: Record) -> tuple[Any, ...] | None:
    if not isinstance(record, routing.OfferMade):
        return None
    return (
        record.event_id,
        record.offer_id,
        record.pool_id,
        record.contact_id,
        record.agent_id,
        record.attempt,
        record.occurred_at,
        record.expires_at,
        json.dumps(record.explanation, default=str),
    )


_OUTCOMES: dict[type[Record], str] = {
    routing.ContactAssigned: "accepted",
    routing.OfferDeclined: "declined",
    routing.OfferExpired: "expired",
    routing.OfferRescinded: "rescinded",
}


def decision_outcome(record: Record) -> tuple[str, str, datetime] | None:
    """(offer id, outcome, when) for a record that closes an offer."""
    outcome = _OUTCOMES.get(type(record))
    if outcome is None:
        return None
    return (getattr(record, "offer_id"), outcome, record.occurred_at)  # noqa: B009


def agent_state_row(record: Record) -> tuple[Any, ...] | None:
    if not isinstance(record, routing.AgentStateChanged):
        return None
    return (
        record.event_id,
        record.agent_id,
        record.pool_id,
        record.state,
        record.reason,
        record.occurred_at,
    )


def event_row(entry: LogEntry) -> tuple[Any, ...]:
    record = entry.record
    body = record.model_dump(mode="json")
    body["type"] = record.TYPE
    contact_id = getattr(record, "contact_id", None)
    agent_id = getattr(record, "agent_id", None)
    return (
        record.event_id,
        record.TYPE,
        entry.topic,
        entry.partition,
        entry.offset,
        getattr(record, "pool_id", None),
        contact_id,
        agent_id,
        record.occurred_at,
        json.dumps(body, separators=(",", ":")),
    )


def unique_entries(entries: Iterable[LogEntry]) -> list[LogEntry]:
    """The first entry of each event id, in order (a batch may hold a record twice)."""
    seen: set[str] = set()
    out: list[LogEntry] = []
    for entry in entries:
        if entry.record.event_id not in seen:
            seen.add(entry.record.event_id)
            out.append(entry)
    return out


# ---------------------------------------------------------------------------------------------
# SQL
# ---------------------------------------------------------------------------------------------
INSERT_EVENTS = """
INSERT INTO interaction_events
    (event_id, type, topic, partition, "offset", pool_id, contact_id, agent_id, occurred_at,
     payload)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::text[],
                     $7::text[], $8::text[], $9::timestamptz[], $10::jsonb[])
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""

UPSERT_CONTACT = """
INSERT INTO contacts AS c
    (contact_id, pool_id, channel, customer_class, customer_key, subject, arrived_at, queued_at,
     first_offered_at, answered_at, agent_id, completed_at, abandoned_at, ended_at,
     removed_reason, wait_seconds, handle_seconds, disposition, offers, rejections, expirations,
     requeues, callback_requested, rescinds)
VALUES ($1, $2, $3, coalesce($4::text, $5::text), $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
        $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)
ON CONFLICT (contact_id) DO UPDATE SET
    channel = coalesce(c.channel, EXCLUDED.channel),
    customer_class = coalesce($4::text, c.customer_class, $5::text),
    customer_key = coalesce(c.customer_key, EXCLUDED.customer_key),
    subject = coalesce(c.subject, EXCLUDED.subject),
    arrived_at = least(c.arrived_at, EXCLUDED.arrived_at),
    queued_at = least(c.queued_at, EXCLUDED.queued_at),
    first_offered_at = least(c.first_offered_at, EXCLUDED.first_offered_at),
    answered_at = least(c.answered_at, EXCLUDED.answered_at),
    agent_id = coalesce(c.agent_id, EXCLUDED.agent_id),
    completed_at = least(c.completed_at, EXCLUDED.completed_at),
    abandoned_at = least(c.abandoned_at, EXCLUDED.abandoned_at),
    ended_at = least(c.ended_at, EXCLUDED.ended_at),
    removed_reason = coalesce(c.removed_reason, EXCLUDED.removed_reason),
    wait_seconds = coalesce(c.wait_seconds, EXCLUDED.wait_seconds),
    handle_seconds = coalesce(c.handle_seconds, EXCLUDED.handle_seconds),
    disposition = coalesce(c.disposition, EXCLUDED.disposition),
    offers = c.offers + EXCLUDED.offers,
    rejections = c.rejections + EXCLUDED.rejections,
    expirations = c.expirations + EXCLUDED.expirations,
    requeues = c.requeues + EXCLUDED.requeues,
    callback_requested = c.callback_requested OR EXCLUDED.callback_requested,
    rescinds = c.rescinds + EXCLUDED.rescinds,
    updated_at = now()
"""

INSERT_DECISION = """
INSERT INTO routing_decisions
    (event_id, offer_id, pool_id, contact_id, agent_id, attempt, decided_at, expires_at,
     explanation)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
ON CONFLICT (event_id) DO NOTHING
"""

CLOSE_DECISION = """
UPDATE routing_decisions SET outcome = $2, outcome_at = $3
WHERE offer_id = $1 AND outcome IS NULL
"""

# An outcome logged before its offer (another batch, another order) closes it on insert.
CLOSE_NEW_DECISIONS = """
UPDATE routing_decisions d
SET outcome = CASE e.type WHEN 'contact_assigned' THEN 'accepted'
                          WHEN 'offer_declined' THEN 'declined'
                          WHEN 'offer_expired' THEN 'expired'
                          ELSE 'rescinded' END,
    outcome_at = e.occurred_at
FROM interaction_events e
WHERE d.event_id = ANY($1::text[]) AND d.outcome IS NULL
  AND e.contact_id = d.contact_id
  AND e.type IN ('contact_assigned', 'offer_declined', 'offer_expired', 'offer_rescinded')
  AND e.payload->>'offer_id' = d.offer_id
"""

INSERT_AGENT_STATE = """
INSERT INTO agent_state_history (event_id, agent_id, pool_id, state, reason, changed_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (event_id) DO NOTHING
"""

CONTACT_LABELS = """
SELECT contact_id, coalesce(customer_class, 'unknown') AS customer_class,
       coalesce(channel, 'unknown') AS channel
FROM contacts WHERE contact_id = ANY($1::text[])
"""

SERVICE_LEVEL_NOW = f"""
SELECT customer_class, channel,
       sum(answered_within_threshold)::float8 / nullif(sum(answered), 0) AS answered,
       (sum(answered_within_threshold) + sum(abandoned_within_threshold))::float8
           / nullif(sum(answered) + sum(abandoned), 0) AS abandons
FROM contact_metrics_15m
WHERE interval_start >= now() - interval '{SERVICE_LEVEL_WINDOW}'
GROUP BY customer_class, channel
"""

OCCUPANCY_NOW = f"""
SELECT pool_id, sum(busy_seconds) / nullif(sum(staffed_seconds), 0) AS occupancy
FROM agent_occupancy_15m
WHERE interval_start >= now() - interval '{SERVICE_LEVEL_WINDOW}'
GROUP BY pool_id
"""

SERVICE_LEVEL_CONFIG = (
    "SELECT customer_class, threshold_seconds, target_ratio FROM service_level_targets"
)


# ---------------------------------------------------------------------------------------------
# The writer
# ---------------------------------------------------------------------------------------------
@dataclass
class WriteResult:
    written: list[LogEntry] = field(default_factory=list)  # newly inserted, in batch order
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # contact → (class, chan)


class InteractionLogWriter:
    """Writes batches of entries into the interaction log; see the module docstring."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def write(self, entries: Sequence[LogEntry]) -> WriteResult:
        batch = unique_entries(entries)
        if not batch:
            return WriteResult()
        async with self._pool.acquire() as connection, connection.transaction():
            result = await self._write(connection, batch)
        observe(result)
        return result

    async def _write(self, connection: asyncpg.Connection, batch: list[LogEntry]) -> WriteResult:
        rows = [event_row(e) for e in batch]
        columns = list(zip(*rows, strict=True))
        inserted = {
            r["event_id"]
            for r in await connection.fetch(INSERT_EVENTS, *[list(col) for col in columns])
        }
        new = [e for e in batch if e.record.event_id in inserted]
        records = [e.record for e in new]
        patches = [p.args() for p in map(contact_patch, records) if p is not None]
        decisions = [d for d in map(decision_row, records) if d is not None]
        closes = [c for c in map(decision_outcome, records) if c is not None]
        states = [s for s in map(agent_state_row, records) if s is not None]
        if patches:
            await connection.executemany(UPSERT_CONTACT, patches)
        if decisions:
            await connection.executemany(INSERT_DECISION, decisions)
            await connection.execute(CLOSE_NEW_DECISIONS, [d[0] for d in decisions])
        if closes:
            await connection.executemany(CLOSE_DECISION, closes)
        if states:
            await connection.executemany(INSERT_AGENT_STATE, states)
        counted = sorted(
            {
                r.contact_id
                for r in records
                if isinstance(
                    r,
                    routing.ContactAssigned | routing.ContactRemoved | routing.ContactReleased,
                )
            }
        )
        labels: dict[str, tuple[str, str]] = {}
        if counted:
            for row in await connection.fetch(CONTACT_LABELS, counted):
                labels[row["contact_id"]] = (row["customer_class"], row["channel"])
        return WriteResult(new, labels)


def observe(result: WriteResult) -> None:
    """Contact-outcome metrics for newly written records (call after the commit)."""
    for entry in result.written:
        record = entry.record
        match record:
            case routing.ContactQueued():
                metrics.CONTACTS_ARRIVED.labels(
                    customer_class=record.customer_class, channel=record.channel
                ).inc()
            case routing.ContactAssigned():
                cls, chan = result.labels.get(record.contact_id, ("unknown", "unknown"))
                metrics.CONTACTS_ANSWERED.labels(customer_class=cls, channel=chan).inc()
                metrics.WAIT.labels(customer_class=cls, channel=chan, outcome="answered").observe(
                    record.waited_seconds
                )
            case routing.ContactRemoved(reason="abandoned"):
                cls, chan = result.labels.get(record.contact_id, ("unknown", "unknown"))
                metrics.CONTACTS_ABANDONED.labels(customer_class=cls, channel=chan).inc()
                metrics.WAIT.labels(customer_class=cls, channel=chan, outcome="abandoned").observe(
                    record.waited_seconds
                )
            case routing.ContactReleased():
                cls, chan = result.labels.get(record.contact_id, ("unknown", "unknown"))
                metrics.CONTACTS_COMPLETED.labels(customer_class=cls, channel=chan).inc()
                metrics.HANDLE.labels(customer_class=cls, channel=chan).observe(
                    record.handle_seconds
                )


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # connection refused or reset (ConnectionError is one)
    asyncio.TimeoutError,
    asyncpg.InterfaceError,  # connection closed under us
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
)


async def write_with_retry(
    write: Callable[[Sequence[LogEntry]], Awaitable[WriteResult]],
    entries: Sequence[LogEntry],
    *,
    max_backoff: float = MAX_BACKOFF_SECONDS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> WriteResult:
    """Write one batch; on a transient failure retry the same batch with backoff, forever.

    A non-transient PostgreSQL error (a row the database refuses) is narrowed down by writing
    the entries one by one; an entry that fails alone is logged, counted and skipped, so one
    bad record cannot stop the log."""
    attempt = 0
    while True:
        started = asyncio.get_running_loop().time()
        try:
            result = await write(entries)
        except asyncio.CancelledError:
            raise
        except TRANSIENT_ERRORS as exc:
            attempt += 1
            delay = min(max_backoff, 0.1 * 2**attempt) * random.uniform(0.5, 1.0)
            log.warning(
                "interaction log: PostgreSQL unavailable (%s: %s), batch of %d kept; "
                "retry %d in %.1f s",
                type(exc).__name__,
                exc,
                len(entries),
                attempt,
                delay,
            )
            metrics.DB_WRITE_FAILURES.labels(writer=WRITER).inc()
            metrics.DB_UP.labels(writer=WRITER).set(0)
            await sleep(delay)
            continue
        except asyncpg.PostgresError:
            if len(entries) == 1:
                log.exception("interaction log: record %s refused", entries[0].record.event_id)
                metrics.ERRORS.labels(component=WRITER, kind="record_refused").inc()
                return WriteResult()
            merged = WriteResult()
            for entry in entries:
                one = await write_with_retry(write, [entry], max_backoff=max_backoff, sleep=sleep)
                merged.written.extend(one.written)
                merged.labels.update(one.labels)
            return merged
        metrics.DB_WRITE_DURATION.labels(writer=WRITER).observe(
            asyncio.get_running_loop().time() - started
        )
        metrics.DB_WRITE_BATCH_SIZE.labels(writer=WRITER).observe(len(entries))
        if attempt:
            log.warning("interaction log: PostgreSQL back after %d retries", attempt)
        metrics.DB_UP.labels(writer=WRITER).set(1)
        return result


def decode_entry(
    value: bytes | None, topic: str, partition: int, offset: int, prefix: str = ""
) -> LogEntry | None:
    """The entry for one consumed message, or None when it cannot be decoded (routing
    dead-letters bad inputs; the log only counts them)."""
    label = metrics.topic_label(topic, prefix)
    try:
        record = decode(value)
    except InvalidMessage:
        metrics.ERRORS.labels(component=WRITER, kind="undecodable").inc()
        return None
    return LogEntry(record, label, partition, offset)


async def refresh_service_level(pool: asyncpg.Pool) -> None:
    """Set the service-level and occupancy gauges from the log (the last hour) and the
    configured targets."""
    async with pool.acquire() as connection:
        config = await connection.fetch(SERVICE_LEVEL_CONFIG)
        rows = await connection.fetch(SERVICE_LEVEL_NOW)
        occupancy = await connection.fetch(OCCUPANCY_NOW)
    metrics.replace_gauge(
        metrics.OCCUPANCY,
        {(r["pool_id"],): r["occupancy"] for r in occupancy if r["occupancy"] is not None},
    )
    for row in config:
        if row["customer_class"] == "*":
            metrics.SERVICE_LEVEL_THRESHOLD.set(row["threshold_seconds"])
        else:
            metrics.SERVICE_LEVEL_TARGET.labels(customer_class=row["customer_class"]).set(
                row["target_ratio"]
            )
    default_target = next((r["target_ratio"] for r in config if r["customer_class"] == "*"), None)
    for row in rows:
        if default_target is not None and row["customer_class"] not in {
            r["customer_class"] for r in config
        }:
            metrics.SERVICE_LEVEL_TARGET.labels(customer_class=row["customer_class"]).set(
                default_target
            )
    metrics.replace_gauge(
        metrics.SERVICE_LEVEL,
        {
            (row["customer_class"], row["channel"], variant): row[variant]
            for row in rows
            for variant in ("answered", "abandons")
            if row[variant] is not None
        },
    )


def update_consumer_lag(consumer: Any, prefix: str = "") -> None:
    """``contactcenter_consumer_lag_messages`` for every partition this worker holds: the
    partition's high watermark minus the next offset to commit."""
    for tp in consumer.assignment():
        try:
            highwater = consumer.highwater(tp)
        except Exception:
            continue
        if highwater is None:
            continue
        committed = consumer._committed_offset.get(tp)  # last processed and committed offset
        position = 0 if committed is None else committed + 1
        metrics.CONSUMER_LAG.labels(
            topic=metrics.topic_label(tp.topic, prefix), partition=str(tp.partition)
        ).set(max(0, highwater - position))


# ---------------------------------------------------------------------------------------------
# Faust wiring
# ---------------------------------------------------------------------------------------------
def install(app: Any, deps: Any) -> None:
    settings = deps.settings
    prefix = settings.topic_prefix
    topic = deps.topic(CONTACTS, AGENT_EVENTS, INTERACTIONS, DEAD_LETTER)
    batch_size = getattr(settings, "log_batch_size", BATCH_SIZE)
    batch_within = getattr(settings, "log_batch_within", BATCH_WITHIN)
    writer: InteractionLogWriter | None = None

    async def get_writer() -> InteractionLogWriter:
        nonlocal writer
        if writer is None:
            writer = InteractionLogWriter(await deps.db())
        return writer

    @app.agent(topic, name="interaction-log")  # type: ignore[untyped-decorator]
    async def interaction_log(stream: Any) -> None:
        async for events in stream.take_events(batch_size, within=batch_within):
            entries: list[LogEntry] = []
            for event in events:
                message = event.message
                metrics.EVENTS_IN.labels(
                    topic=metrics.topic_label(message.topic, prefix), consumer="interaction-log"
                ).inc()
                entry = decode_entry(
                    event.value, message.topic, message.partition, message.offset, prefix
                )
                if entry is not None:
                    entries.append(entry)
            if entries:
                await write_with_retry(_writing(get_writer), entries)
            # leaving the loop body acknowledges the batch: the commit follows PostgreSQL's

    @app.timer(interval=SERVICE_LEVEL_REFRESH_SECONDS)  # type: ignore[untyped-decorator]
    async def service_level() -> None:
        try:
            await refresh_service_level(await deps.db())
        except Exception as exc:
            log.warning("service-level refresh failed: %s", exc)
            metrics.ERRORS.labels(component=WRITER, kind="service_level_refresh").inc()

    @app.timer(interval=LIVE_REFRESH_SECONDS)  # type: ignore[untyped-decorator]
    async def consumer_lag() -> None:
        try:
            update_consumer_lag(app.consumer, prefix)
        except Exception as exc:
            log.debug("consumer lag not available: %s", exc)


def _writing(
    get_writer: Callable[[], Awaitable[InteractionLogWriter]],
) -> Callable[[Sequence[LogEntry]], Awaitable[WriteResult]]:
    async def write(entries: Sequence[LogEntry]) -> WriteResult:
        return await (await get_writer()).write(entries)

    return write
