"""The interaction log's processing steps around its store: decode a consumed message, write a
batch with retries (transient failures retried, a refused batch narrowed down to the one record
the database refuses), observe the outcome metrics of what was newly written."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from schemas import routing
from schemas.codec import InvalidMessage, decode
from streams.interaction_log.ports import WriteResult
from streams.interaction_log.projection import LogEntry
from streams.platform import metrics
from streams.platform.retry import retry_transient

log = logging.getLogger(__name__)

WRITER = "interaction_log"
MAX_BACKOFF_SECONDS = 10.0  # failures other than PostgreSQL away (which is probed for)


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


async def write_with_retry(
    write: Callable[[Sequence[LogEntry]], Awaitable[WriteResult]],
    entries: Sequence[LogEntry],
    *,
    max_backoff: float = MAX_BACKOFF_SECONDS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    reconnect: Callable[[], Awaitable[bool]] | None = None,
    probe_interval: float = 0.2,
) -> WriteResult:
    """Write one batch; on a transient failure retry the same batch with backoff, forever.

    A non-transient PostgreSQL error (a row the database refuses) is narrowed down by writing
    the entries one by one; an entry that fails alone is logged, counted and skipped, so one
    bad record cannot stop the log."""
    loop = asyncio.get_running_loop()

    async def timed_write() -> WriteResult:
        started = loop.time()
        result = await write(entries)
        metrics.DB_WRITE_DURATION.labels(writer=WRITER).observe(loop.time() - started)
        return result

    try:
        result = await retry_transient(
            timed_write,
            writer=WRITER,
            what=f"a batch of {len(entries)} (kept)",
            base=0.2,
            cap=max_backoff,
            sleep=sleep,
            reconnect=reconnect,
            probe_interval=probe_interval,
        )
    except asyncpg.PostgresError:
        if len(entries) == 1:
            log.exception("interaction log: record %s refused", entries[0].record.event_id)
            metrics.ERRORS.labels(component=WRITER, kind="record_refused").inc()
            return WriteResult()
        merged = WriteResult()
        for entry in entries:
            one = await write_with_retry(
                write,
                [entry],
                max_backoff=max_backoff,
                sleep=sleep,
                reconnect=reconnect,
                probe_interval=probe_interval,
            )
            merged.written.extend(one.written)
            merged.labels.update(one.labels)
        return merged
    metrics.DB_WRITE_BATCH_SIZE.labels(writer=WRITER).observe(len(entries))
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
