"""Notices in PostgreSQL: shipment delay state, notices (idempotency key unique), customer
flags, and the outbox, written in one transaction per shipment event."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg

from schemas.base import Record
from streams.notices.delays import EpisodeClosed, FlagCustomer, NoticeDecision, ShipmentState
from streams.notices.outbox import Send, add_to_outbox, publish_outbox
from streams.notices.policy import Compensation, Customer

CUSTOMER_SQL = """
SELECT customer_id, tier, name, phone, email, time_zone, preferred_channel,
       sms_consent, email_consent
FROM customers WHERE customer_id = $1
"""

LOCK_STATE = "SELECT state FROM shipment_delays WHERE shipment_id = $1 FOR UPDATE"

SAVE_STATE = """
INSERT INTO shipment_delays (shipment_id, customer_id, order_id, episode, open, state, updated_at)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
ON CONFLICT (shipment_id) DO UPDATE SET customer_id = $2, order_id = $3, episode = $4,
    open = $5, state = $6::jsonb, updated_at = $7
"""

INSERT_NOTICE = """
INSERT INTO notices (notice_id, reference, kind, customer_id, shipment_id, order_id,
                     episode, level, channel, subject, body_text, delay_hours,
                     compensation, status, not_before, next_attempt_at, cause_event_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::text,
        $15::timestamptz,
        CASE WHEN $14::text IN ('pending', 'deferred') THEN $15::timestamptz END, $16)
ON CONFLICT (notice_id) DO NOTHING
RETURNING true
"""

FLAG_CUSTOMER = """
INSERT INTO customer_flags (customer_id, flag_id, kind, text, compensation,
                            shipment_id, episode, created_at, updated_at)
VALUES ($1, $2, 'shipment_delay', $3, $4::jsonb, $5, $6, $7, $7)
ON CONFLICT (customer_id, flag_id) DO UPDATE SET text = $3, compensation = $4::jsonb,
    episode = $6, updated_at = $7, resolved_at = NULL
"""

RESOLVE_FLAG = (
    "UPDATE customer_flags SET resolved_at = $3, updated_at = $3"
    " WHERE customer_id = $1 AND flag_id = $2 AND resolved_at IS NULL"
)


def flag_id(shipment_id: str) -> str:
    return f"shipment_delay:{shipment_id}"


def compensation_json(compensation: Compensation | None) -> str | None:
    if compensation is None:
        return None
    return json.dumps({"percent": compensation.percent, "text": compensation.text})


async def load_customer(conn: Any, customer_id: str) -> Customer | None:
    row = await conn.fetchrow(CUSTOMER_SQL, customer_id)
    if row is None:
        return None
    return Customer(**dict(row))


async def insert_notice_row(
    conn: Any, row: dict[str, Any], *, status: str, not_before: datetime
) -> bool:
    """Insert a notice unless its idempotency key exists; True if inserted."""
    inserted = await conn.fetchval(
        INSERT_NOTICE,
        row["notice_id"],
        row["reference"],
        row.get("kind") or "shipment_delay",
        row["customer_id"],
        row.get("shipment_id"),
        row.get("order_id"),
        row["episode"],
        row.get("level", 1),
        row["channel"],
        row["subject"],
        row["body_text"],
        row.get("delay_hours"),
        _json(row.get("compensation")),
        status,
        not_before,
        row.get("cause_event_id"),
    )
    return bool(inserted)


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


class _PostgresShipmentTransaction:
    def __init__(self, connection: asyncpg.Connection, shipment_id: str) -> None:
        self._connection = connection
        self._shipment_id = shipment_id

    async def state(self) -> ShipmentState | None:
        row = await self._connection.fetchrow(LOCK_STATE, self._shipment_id)
        return None if row is None else ShipmentState.from_json(json.loads(row["state"]))

    async def customer(self, customer_id: str) -> Customer | None:
        return await load_customer(self._connection, customer_id)

    async def save_state(self, state: ShipmentState, now: datetime) -> None:
        await self._connection.execute(
            SAVE_STATE,
            state.shipment_id,
            state.customer_id,
            state.order_id,
            state.episode,
            state.open,
            json.dumps(state.to_json()),
            now,
        )

    async def add_notice(self, notice: NoticeDecision, *, cause_event_id: str, status: str) -> bool:
        row = {
            "notice_id": notice.notice_id,
            "reference": notice.reference,
            "customer_id": notice.customer_id,
            "shipment_id": notice.shipment_id,
            "order_id": notice.order_id,
            "episode": notice.episode,
            "level": notice.level,
            "channel": notice.channel or "none",
            "subject": notice.subject,
            "body_text": notice.body_text,
            "delay_hours": notice.delay_hours,
            "compensation": compensation_json(notice.compensation),
            "cause_event_id": cause_event_id,
        }
        return await insert_notice_row(
            self._connection, row, status=status, not_before=notice.not_before
        )

    async def flag_customer(self, flag: FlagCustomer, now: datetime) -> None:
        await self._connection.execute(
            FLAG_CUSTOMER,
            flag.customer_id,
            flag_id(flag.shipment_id),
            flag.text,
            compensation_json(flag.compensation),
            flag.shipment_id,
            flag.episode,
            now,
        )

    async def resolve_flag(self, closed: EpisodeClosed, now: datetime) -> None:
        await self._connection.execute(
            RESOLVE_FLAG, closed.customer_id, flag_id(closed.shipment_id), now
        )

    async def publish_later(self, topic: str, key: str, record: Record) -> None:
        await add_to_outbox(self._connection, topic, key, record)


class PostgresNoticeStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def shipment(self, shipment_id: str) -> AsyncIterator[_PostgresShipmentTransaction]:
        async with self._pool.acquire() as connection, connection.transaction():
            yield _PostgresShipmentTransaction(connection, shipment_id)

    async def publish_pending(self, send: Send) -> int:
        return await publish_outbox(self._pool, send)

    async def open_flags(self, customer_id: str) -> dict[str, str]:
        rows = await self._pool.fetch(
            "SELECT flag_id, text FROM customer_flags WHERE customer_id = $1"
            " AND resolved_at IS NULL ORDER BY flag_id",
            customer_id,
        )
        return {r["flag_id"]: r["text"] for r in rows}
