"""Wrap-ups the agent started on the desk ("End & wrap up" before the customer ended), kept
in ``desk_wrapups`` (deploy/migrations/050) until the contact completes, so a reload or a desk
restart shows the wrap-up with its timer. A wrap-up the customer's end started is routing's
(its contact row's status ``wrap_up`` and when it began)."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def start(pool: asyncpg.Pool, contact_id: str, agent_id: str) -> datetime:
    """When the agent's wrap-up of the contact began (the first start counts)."""
    started: datetime = await pool.fetchval(
        "INSERT INTO desk_wrapups (contact_id, agent_id) VALUES ($1, $2)"
        " ON CONFLICT (contact_id) DO UPDATE SET agent_id = EXCLUDED.agent_id"
        " RETURNING started_at",
        contact_id,
        agent_id,
    )
    return started


async def started(pool: asyncpg.Pool, contact_ids: list[str]) -> dict[str, datetime]:
    rows = await pool.fetch(
        "SELECT contact_id, started_at FROM desk_wrapups WHERE contact_id = ANY($1::text[])",
        contact_ids,
    )
    return {r["contact_id"]: r["started_at"] for r in rows}


async def forget(pool: asyncpg.Pool, contact_id: str) -> None:
    await pool.execute("DELETE FROM desk_wrapups WHERE contact_id = $1", contact_id)
