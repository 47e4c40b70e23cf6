"""Typing both ways on the desk, through the ephemeral ``typing`` topic (key: contact id; kept a
minute; never in the interaction log): a customer typing in a chat is pushed to the agent who
has the contact (a ``typing`` event on the agent's stream); an agent typing a reply is
published for the gateways holding the chat (``POST /api/contacts/{contact_id}/typing``, at
most one signal every ``TYPING_EVERY_SECONDS`` per contact, whatever the page sends)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiohttp import web

from schemas.base import Record
from schemas.presence import Typing, Typist
from schemas.topics import TYPING
from services.bus import follow_topic
from services.desk.hub import OfferHub
from services.desk.keys import DESK
from services.publisher import PublishFailed
from streams.platform import metrics
from streams.platform.settings import PlatformSettings

log = logging.getLogger(__name__)

TYPING_EVERY_SECONDS = 2.0
MAX_REMEMBERED = 10_000
OwnContact = Callable[[web.Request], Awaitable[tuple[Any, Any, str]]]
OwnerLookup = Callable[[str], Awaitable[str | None]]


class TypingFeed:
    """The typing topic's customer signals, to the stream of the contact's agent."""

    def __init__(self, hub: OfferHub, owner: OwnerLookup) -> None:
        self.hub = hub
        self.owner = owner

    async def handle(self, record: Record) -> None:
        if not isinstance(record, Typing) or record.who is not Typist.CUSTOMER:
            return
        agent_id = self.hub.assigned.get(record.contact_id)
        if agent_id is None:
            try:
                agent_id = await self.owner(record.contact_id)
            except (OSError, asyncpg.PostgresError) as exc:
                metrics.ERRORS.labels(component="desk_typing", kind=type(exc).__name__).inc()
                return
        if agent_id:
            self.hub.push(agent_id, {"type": "typing", "record": record.model_dump(mode="json")})


async def run_typing(
    settings: PlatformSettings, feed: TypingFeed, ready: asyncio.Event | None = None
) -> None:
    await follow_topic(settings, TYPING, feed.handle, component="desk_typing", ready=ready)


def add_typing_route(app: web.Application, own_contact: OwnContact) -> None:
    sent_at: dict[str, float] = {}  # contact id → when its last agent signal was published

    async def typing(request: web.Request) -> web.Response:
        _desk, agent, contact_id = await own_contact(request)
        now = time.monotonic()
        if now - sent_at.get(contact_id, float("-inf")) < TYPING_EVERY_SECONDS:
            return web.json_response({"status": "throttled"})
        sent_at[contact_id] = now
        if len(sent_at) > MAX_REMEMBERED:
            sent_at.pop(next(iter(sent_at)))
        signal = Typing(contact_id=contact_id, who=Typist.AGENT, agent_id=agent.agent_id)
        try:
            await request.app[DESK].publisher.publish(TYPING, contact_id, signal)
        except PublishFailed:  # best effort: a lost signal loses nothing else
            log.info("typing signal of %s not published", contact_id)
            return web.json_response({"status": "not_sent"})
        return web.json_response({"status": "sent"})

    app.router.add_post("/api/contacts/{contact_id}/typing", typing)
