"""Agents at work on the real broker: accept every offer routing makes, talk, complete."""

from __future__ import annotations

import asyncio

from schemas import agents as ag
from schemas.routing import OfferMade
from schemas.topics import AGENT_EVENTS
from services.bus import Bus, TopicReader
from tests.support.workers import eventually


async def answer_offers(
    bus: Bus,
    offers: TopicReader,
    pool: str,
    count: int,
    *,
    handle_seconds: float,
    timeout: float = 90,
    agents: frozenset[str] | None = None,
) -> list[OfferMade]:
    """Accept each new offer read from ``offers``, wait ``handle_seconds`` (the agents talk to
    the customers), complete the contacts; until ``count`` offers are handled. With
    ``agents``, only theirs: the others' offers are left to expire."""
    handled: dict[str, OfferMade] = {}

    async def work() -> bool:
        accepted: list[OfferMade] = []
        for record in await offers.records(0.3):
            if not isinstance(record, OfferMade) or record.offer_id in handled:
                continue
            if agents is not None and record.agent_id not in agents:
                continue
            handled[record.offer_id] = record
            accepted.append(record)
            await bus.publish(
                AGENT_EVENTS,
                record.agent_id,
                ag.OfferAccepted(pool_id=pool, agent_id=record.agent_id, offer_id=record.offer_id),
            )
        if accepted:
            await asyncio.sleep(handle_seconds)
        for record in accepted:
            await bus.publish(
                AGENT_EVENTS,
                record.agent_id,
                ag.ContactCompleted(
                    pool_id=pool,
                    agent_id=record.agent_id,
                    contact_id=record.contact_id,
                    disposition="resolved",
                ),
            )
        return len(handled) >= count

    await eventually(work, timeout, f"{count} offers")
    return list(handled.values())
