"""What routing holds for one agent right now, read from its live state rows in PostgreSQL
(``routing_contacts``): the open offers and the current assignments. The desk sends these first
when an agent's stream connects, so offers made while no desk ran (or before the agent
connected) are not lost to the offers consumer starting at the topic's end."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from schemas.routing import OfferMade

RESTORED = "restored-from-routing-state"


@dataclass
class LiveWork:
    offers: list[OfferMade] = field(default_factory=list)  # open, not expired
    assignments: list[OfferMade] = field(default_factory=list)  # the offer each came from


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return dict(value or {})


def _offer(row: asyncpg.Record, expires: float) -> OfferMade:
    offer_id = str(row["offer_id"])
    attempt = offer_id.rpartition(":")[2]
    return OfferMade(
        event_id=f"{offer_id}:{RESTORED}",
        pool_id=row["pool_id"],
        cause_event_id=RESTORED,
        offer_id=offer_id,
        contact_id=row["contact_id"],
        agent_id=row["agent_id"],
        attempt=int(attempt) if attempt.isdigit() else max(1, row["attempts"]),
        expires_at=datetime.fromtimestamp(expires, UTC),
        callback=row["callback"],
        explanation=_json(row["explanation"]),
    )


async def live_work(
    pool: asyncpg.Pool, pool_id: str, agent_id: str, now: float | None = None
) -> LiveWork:
    """The agent's offers (status offered, not expired at ``now``) and assignments (assigned or
    in wrap-up), oldest first; the offer's explanation comes from the interaction log when it
    has it."""
    now = time.time() if now is None else now
    rows = await pool.fetch(
        "SELECT c.pool_id, c.contact_id, c.status, c.agent_id, c.offer_id, c.attempts,"
        " c.offer_expires_at, c.assigned_at, c.callback,"
        " (SELECT d.explanation FROM routing_decisions d"
        "   WHERE d.offer_id = c.offer_id ORDER BY d.decided_at DESC LIMIT 1) AS explanation"
        " FROM routing_live_contacts c"
        " WHERE c.pool_id = $1 AND c.agent_id = $2"
        " AND c.status IN ('offered', 'assigned', 'wrap_up') AND c.offer_id IS NOT NULL"
        " ORDER BY c.updated_at, c.contact_id",
        pool_id,
        agent_id,
    )
    work = LiveWork()
    for row in rows:
        if row["status"] == "offered":
            expires = row["offer_expires_at"]
            if expires is None or expires <= now:
                continue
            work.offers.append(_offer(row, expires))
        else:
            expires = row["offer_expires_at"] or row["assigned_at"] or now
            work.assignments.append(_offer(row, expires))
    return work
