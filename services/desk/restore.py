"""What routing holds for one agent right now, read from its live contacts
(:mod:`streams.routing.live_view`): the open offers and the current assignments. The desk sends
these first when an agent's stream connects, so offers made while no desk ran (or before the
agent connected) are not lost to the offers consumer starting at the topic's end."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from schemas.routing import OfferMade
from streams.routing.live_view import ContactPhase, LiveContact, agent_work, contact_phases

RESTORED = "restored-from-routing-state"


@dataclass
class LiveWork:
    offers: list[OfferMade] = field(default_factory=list)  # open, not expired
    assignments: list[OfferMade] = field(default_factory=list)  # the offer each came from
    # contact id → when routing assigned it (epoch seconds), and its status since when
    assigned_at: dict[str, float] = field(default_factory=dict)
    phases: dict[str, ContactPhase] = field(default_factory=dict)


def _offer(contact: LiveContact, expires: float) -> OfferMade:
    offer_id = str(contact.offer_id)
    attempt = offer_id.rpartition(":")[2]
    return OfferMade(
        event_id=f"{offer_id}:{RESTORED}",
        pool_id=contact.pool_id,
        cause_event_id=RESTORED,
        offer_id=offer_id,
        contact_id=contact.contact_id,
        agent_id=str(contact.agent_id),
        attempt=int(attempt) if attempt.isdigit() else max(1, contact.attempts),
        expires_at=datetime.fromtimestamp(expires, UTC),
        callback=contact.callback,
        explanation=contact.explanation,
    )


async def live_work(
    pool: asyncpg.Pool, pool_id: str, agent_id: str, now: float | None = None
) -> LiveWork:
    """The agent's offers (status offered, not expired at ``now``) and assignments (assigned or
    in wrap-up), oldest first."""
    now = time.time() if now is None else now
    work = LiveWork()
    for contact in await agent_work(pool, pool_id, agent_id):
        if contact.status == "offered":
            expires = contact.offer_expires_at
            if expires is None or expires <= now:
                continue
            work.offers.append(_offer(contact, expires))
        else:
            expires = contact.offer_expires_at or contact.assigned_at or now
            work.assignments.append(_offer(contact, expires))
            if contact.assigned_at is not None:
                work.assigned_at[contact.contact_id] = contact.assigned_at
    if work.assignments:
        ids = [offer.contact_id for offer in work.assignments]
        work.phases = await contact_phases(pool, pool_id, ids)
    return work
