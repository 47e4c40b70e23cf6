"""Routing's live contacts for readers outside routing (the agent desk, ops), typed: they read
the view ``routing_live_contacts`` (deploy/migrations/008, skills added by 010) through this
module, so the JSON
row format of ``routing_contacts.state`` stays routing's own."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import asyncpg

ACTIVE = ("offered", "assigned", "wrap_up")


@dataclass(frozen=True)
class LiveContact:
    pool_id: str
    contact_id: str
    status: str  # waiting, offered, assigned, wrap_up
    channel: str | None
    customer_class: str | None
    arrived_at: float | None
    agent_id: str | None
    offer_id: str | None
    attempts: int
    offer_expires_at: float | None
    assigned_at: float | None
    callback: bool
    explanation: dict[str, Any]  # the offer's, from the interaction log when it has it


async def agent_work(pool: asyncpg.Pool, pool_id: str, agent_id: str) -> list[LiveContact]:
    """The contacts offered or assigned to an agent (or in wrap-up), oldest change first."""
    rows = await pool.fetch(
        "SELECT c.pool_id, c.contact_id, c.status, c.channel, c.customer_class, c.arrived_at,"
        " c.agent_id, c.offer_id, c.attempts, c.offer_expires_at, c.assigned_at, c.callback,"
        " (SELECT d.explanation FROM routing_decisions d"
        "   WHERE d.offer_id = c.offer_id ORDER BY d.decided_at DESC LIMIT 1) AS explanation"
        " FROM routing_live_contacts c"
        " WHERE c.pool_id = $1 AND c.agent_id = $2 AND c.status = ANY($3::text[])"
        " AND c.offer_id IS NOT NULL"
        " ORDER BY c.updated_at, c.contact_id",
        pool_id,
        agent_id,
        list(ACTIVE),
    )
    return [LiveContact(**{**dict(row), "explanation": _json(row["explanation"])}) for row in rows]


async def contact_skills(pool: asyncpg.Pool, contact_id: str) -> dict[str, int] | None:
    """The skills a live contact waits for; None when routing holds no row of it (yet: an
    offer is published before the batch that made it is stored)."""
    row = await pool.fetchrow(
        "SELECT skills FROM routing_live_contacts WHERE contact_id = $1", contact_id
    )
    return None if row is None else {str(k): int(v) for k, v in _json(row["skills"]).items()}


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return dict(value or {})
