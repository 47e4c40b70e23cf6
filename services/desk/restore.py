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


def _offer(pool_id: str, state: dict[str, Any], expires: float, explanation: Any) -> OfferMade:
    offer_id = str(state["offer_id"])
    attempt = offer_id.rpartition(":")[2]
    return OfferMade(
        event_id=f"{offer_id}:{RESTORED}",
        pool_id=pool_id,
        cause_event_id=RESTORED,
        offer_id=offer_id,
        contact_id=str(state["contact_id"]),
        agent_id=str(state["agent_id"]),
        attempt=int(attempt) if attempt.isdigit() else int(state.get("attempts") or 1),
        expires_at=datetime.fromtimestamp(expires, UTC),
        callback=bool(state.get("callback", False)),
        explanation=_json(explanation),
    )


async def live_work(
    pool: asyncpg.Pool, pool_id: str, agent_id: str, now: float | None = None
) -> LiveWork:
    """The agent's offers (status offered, not expired at ``now``) and assignments (assigned or
    in wrap-up), oldest first; the offer's explanation comes from the interaction log when it
    has it."""
    now = time.time() if now is None else now
    rows = await pool.fetch(
        "SELECT c.pool_id, c.status, c.state,"
        " (SELECT d.explanation FROM routing_decisions d"
        "   WHERE d.offer_id = c.state->>'offer_id' ORDER BY d.decided_at DESC LIMIT 1)"
        "   AS explanation"
        " FROM routing_contacts c"
        " WHERE c.pool_id = $1 AND c.state->>'agent_id' = $2"
        " AND c.status IN ('offered', 'assigned', 'wrap_up')"
        " ORDER BY c.updated_at, c.contact_id",
        pool_id,
        agent_id,
    )
    work = LiveWork()
    for row in rows:
        state = _json(row["state"])
        if not state.get("offer_id"):
            continue
        if row["status"] == "offered":
            expires = state.get("offer_expires_at")
            if expires is None or float(expires) <= now:
                continue
            work.offers.append(_offer(row["pool_id"], state, float(expires), row["explanation"]))
        else:
            expires = float(state.get("offer_expires_at") or state.get("assigned_at") or now)
            work.assignments.append(_offer(row["pool_id"], state, expires, row["explanation"]))
    return work
