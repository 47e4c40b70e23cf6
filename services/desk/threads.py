"""Conversations live on the desk: the gateways store every customer message and then publish
it on the contacts topic (``ContactMessageReceived``: chat, SMS, e-mail alike), and the desk
stores and publishes its agents' replies the same way (``ContactMessageSent``). Each desk
process follows that topic and pushes each message to the agent who has the contact, so a
follow-up reaches the agent's page the moment it is stored and published; the page also reads
the stored thread (``GET /api/contacts/{id}``) whenever it (re)connects, and merges by message
id, so a message pushed before this desk knew the assignment is not lost either."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from schemas.base import Record
from schemas.contacts import ContactEnded, ContactMessageReceived, ContactMessageSent
from schemas.topics import CONTACTS
from services.bus import follow_topic
from services.desk.hub import OfferHub
from streams.platform import metrics
from streams.platform.settings import PlatformSettings

log = logging.getLogger(__name__)

OwnerLookup = Callable[[str], Awaitable[str | None]]


def message_event(record: ContactMessageReceived | ContactMessageSent) -> dict[str, Any]:
    outbound = isinstance(record, ContactMessageSent)
    return {
        "type": "message",
        "message": {
            "contact_id": record.contact_id,
            "message_id": record.message_id or record.event_id,
            "direction": "out" if outbound else "in",
            "author": record.agent_id if isinstance(record, ContactMessageSent) else None,
            "body": record.body,
            "channel": record.channel.value,
            "at": record.occurred_at.isoformat(),
        },
    }


class ThreadFeed:
    """Hands the contacts topic's messages (and a customer's end) to the contact's agent."""

    def __init__(self, hub: OfferHub, owner: OwnerLookup) -> None:
        self.hub = hub
        self.owner = owner

    async def handle(self, record: Record) -> None:
        event: dict[str, Any]
        if isinstance(record, ContactMessageReceived | ContactMessageSent):
            event = message_event(record)
        elif isinstance(record, ContactEnded):
            event = {"type": "contact_ended", "record": record.model_dump(mode="json")}
        else:
            return
        contact_id = record.contact_id
        agent_id = self.hub.assigned.get(contact_id)
        if agent_id is None:
            try:
                agent_id = await self.owner(contact_id)
            except (OSError, asyncpg.PostgresError) as exc:  # the page reads the stored thread
                metrics.ERRORS.labels(component="desk_threads", kind=type(exc).__name__).inc()
                log.warning("owner of %s unknown, message not pushed: %r", contact_id, exc)
                return
        if agent_id:
            self.hub.push(agent_id, event)


async def run_threads(
    settings: PlatformSettings, feed: ThreadFeed, ready: asyncio.Event | None = None
) -> None:
    await follow_topic(
        settings,
        CONTACTS,
        feed.handle,
        component="desk_threads",
        ready=ready,
    )
