"""Writes batches of log entries into PostgreSQL in one transaction each; retries transient
failures, narrows a refused batch down to the one record the database refuses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from schemas import routing
from schemas.codec import InvalidMessage, decode
from streams.interaction_log.projection import (
    ContactPatch,
    LogEntry,
    agent_state_row,
    contact_patch,
    decision_outcome,
    decision_row,
    event_row,
    merge_patches,
    unique_entries,
)
from streams.interaction_log.sql import (
    AGENT_STATE_COLUMNS,
    CLOSE_DECISION,
    CLOSE_NEW_DECISIONS,
    CONTACT_LABELS,
    DECISION_COLUMNS,
    EVENT_COLUMNS,
    INSERT_AGENT_STATE,
    INSERT_DECISION,
    INSERT_EVENTS,
    INSERT_STAGED_AGENT_STATES,
    INSERT_STAGED_CONTACTS,
    INSERT_STAGED_DECISIONS,
    INSERT_STAGED_EVENTS,
    PATCH_COLUMNS,
    STAGING,
    UPDATE_STAGED_CONTACTS,
    UPSERT_CONTACT,
)
from streams.platform import metrics
from streams.platform.retry import retry_transient

log = logging.getLogger(__name__)

WRITER = "interaction_log"
MAX_BACKOFF_SECONDS = 10.0


@dataclass
class WriteResult:
    written: list[LogEntry] = field(default_factory=list)  # newly inserted, in batch order
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # contact → (class, chan)


class InteractionLogWriter:
    """Writes batches of entries into the interaction log; see the module docstring.

    ``method="copy"`` (the default) streams each batch into temporary staging tables with
    COPY and moves it on with one ``INSERT ... SELECT ... ON CONFLICT`` per table;
    ``method="insert"`` sends the rows as statement parameters. Both keep the first copy of
    an event id and project only newly inserted records."""

    def __init__(self, pool: asyncpg.Pool, method: str = "copy") -> None:
        if method not in ("copy", "insert"):
            raise ValueError(f"unknown write method {method!r}")
        self._pool = pool
        self._copy = method == "copy"

    async def write(self, entries: Sequence[LogEntry]) -> WriteResult:
        batch = unique_entries(entries)
        if not batch:
            return WriteResult()
        async with self._pool.acquire() as connection, connection.transaction():
            result = await self._write(connection, batch)
        observe(result)
        return result

    async def _write(self, connection: asyncpg.Connection, batch: list[LogEntry]) -> WriteResult:
        if self._copy:
            await connection.execute(STAGING)
            await connection.copy_records_to_table(
                "events_in", records=[event_row(e) for e in batch], columns=EVENT_COLUMNS
            )
            inserted = {r["event_id"] for r in await connection.fetch(INSERT_STAGED_EVENTS)}
        else:
            columns = zip(*[event_row(e) for e in batch], strict=True)
            params = [list(col) for col in columns]
            inserted = {r["event_id"] for r in await connection.fetch(INSERT_EVENTS, *params)}
        new = [e for e in batch if e.record.event_id in inserted]
        records = [e.record for e in new]
        patches = [p for p in map(contact_patch, records) if p is not None]
        decisions = [d for d in map(decision_row, records) if d is not None]
        closes = [c for c in map(decision_outcome, records) if c is not None]
        states = [s for s in map(agent_state_row, records) if s is not None]
        if self._copy:
            await self._copy_projections(connection, patches, decisions, states)
        else:
            if patches:
                await connection.executemany(UPSERT_CONTACT, [p.args() for p in patches])
            if decisions:
                await connection.executemany(INSERT_DECISION, decisions)
            if states:
                await connection.executemany(INSERT_AGENT_STATE, states)
        if decisions:
            await connection.execute(CLOSE_NEW_DECISIONS, [d[0] for d in decisions])
        if closes:
            await connection.executemany(CLOSE_DECISION, closes)
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

    @staticmethod
    async def _copy_projections(
        connection: asyncpg.Connection,
        patches: list[ContactPatch],
        decisions: list[tuple[Any, ...]],
        states: list[tuple[Any, ...]],
    ) -> None:
        if patches:
            rows = [p.args() for p in merge_patches(patches)]
            await connection.copy_records_to_table(
                "patches_in", records=rows, columns=PATCH_COLUMNS
            )
            created = [r["contact_id"] for r in await connection.fetch(INSERT_STAGED_CONTACTS)]
            if len(created) < len(rows):
                await connection.execute(UPDATE_STAGED_CONTACTS, created)
        if decisions:
            await connection.copy_records_to_table(
                "decisions_in", records=decisions, columns=DECISION_COLUMNS
            )
            await connection.execute(INSERT_STAGED_DECISIONS)
        if states:
            await connection.copy_records_to_table(
                "agent_states_in", records=states, columns=AGENT_STATE_COLUMNS
            )
            await connection.execute(INSERT_STAGED_AGENT_STATES)


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
        )
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
