"""The interaction log's PostgreSQL adapter (:class:`InteractionLogStore`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from schemas import routing
from streams.interaction_log.ports import ContactLifecycle, WriteResult
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

_LIFECYCLE_COLUMNS = ", ".join(ContactLifecycle.__dataclass_fields__)


class PostgresInteractionLog:
    """The interaction log in PostgreSQL (see the package docstring).

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

    async def contact(self, contact_id: str) -> ContactLifecycle | None:
        row = await self._pool.fetchrow(
            f"SELECT {_LIFECYCLE_COLUMNS} FROM contacts WHERE contact_id = $1", contact_id
        )
        return None if row is None else ContactLifecycle(**dict(row))
