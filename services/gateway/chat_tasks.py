"""What a gateway's web chat does besides answering its sockets: deliver agent messages from
the contacts topic to the sockets held here, tell customers when their agent completed the chat
(the agent-events topic), and end the chats whose customer left and did not come back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import asyncpg

from schemas.agents import ContactCompleted
from schemas.base import Record, utc_now
from schemas.contacts import Channel, ContactAbandoned, ContactEnded, ContactMessageSent
from schemas.presence import Typing, Typist
from schemas.topics import AGENT_EVENTS, CONTACTS, TYPING
from services.bus import follow_topic
from services.gateway.arrivals import publish
from services.gateway.context import GatewayContext
from streams.platform import metrics

log = logging.getLogger(__name__)

WITH_AN_AGENT = {"assigned", "wrap_up"}  # routing statuses in which an agent has the contact


async def run_delivery(ctx: GatewayContext, ready: asyncio.Event | None = None) -> None:
    """Follow agent chat messages on the contacts topic (every gateway gets every message) and
    hand them to the sessions connected here."""

    async def deliver(record: Record) -> None:
        if isinstance(record, ContactMessageSent) and record.channel is Channel.CHAT:
            if record.contact_id not in ctx.chat.sockets:
                return
            names = await agent_names(ctx, [record.agent_id])
            await ctx.chat.deliver(record, names.get(record.agent_id))

    settings = ctx.settings
    await follow_topic(
        settings,
        CONTACTS,
        deliver,
        component="gateway_chat",
        ready=ready,
    )


async def run_agent_ends(ctx: GatewayContext, ready: asyncio.Event | None = None) -> None:
    """Follow the agents' completions: a chat the agent completed is ended for its customer."""

    async def ended(record: Record) -> None:
        if isinstance(record, ContactCompleted) and record.contact_id in ctx.chat.sockets:
            await deliver_stored(ctx, record.contact_id)
            await ctx.chat.end(record.contact_id, "agent")

    settings = ctx.settings
    await follow_topic(
        settings,
        AGENT_EVENTS,
        ended,
        component="gateway_chat_end",
        ready=ready,
    )


async def run_typing(ctx: GatewayContext, ready: asyncio.Event | None = None) -> None:
    """Follow the typing topic: an agent typing in a chat held here is shown to its customer."""

    async def typing(record: Record) -> None:
        if (
            isinstance(record, Typing)
            and record.who is Typist.AGENT
            and record.contact_id in ctx.chat.sockets
        ):
            names = await agent_names(ctx, [record.agent_id])
            name = names.get(record.agent_id or "") or "The agent"
            await ctx.chat.notify(record.contact_id, {"type": "typing", "agent_name": name})

    await follow_topic(ctx.settings, TYPING, typing, component="gateway_typing", ready=ready)


async def deliver_stored(ctx: GatewayContext, contact_id: str, last: int = 20) -> int:
    """The agent's last stored messages of the chat, to its sockets here, before it ends: a
    message published just before the completion (the survey prompt) follows another topic
    and could arrive after ``ended``. The desk stores a message before it publishes it, and
    the hub sends each (by its event id) once."""
    conversation = await ctx.conversations.get(contact_id)
    if conversation is None:
        return 0
    messages = [
        m
        for m in await ctx.conversations.messages(contact_id, limit=last)
        if m.direction == "out" and m.author
    ]
    names = await agent_names(ctx, [m.author for m in messages])
    sent = 0
    for m in messages:
        assert m.author is not None
        record = ContactMessageSent(
            event_id=f"sent:{m.message_id}"[:200],
            pool_id=conversation.pool_id,
            contact_id=contact_id,
            channel=Channel.CHAT,
            agent_id=m.author,
            body=m.body,
            message_id=m.message_id,
            occurred_at=m.created_at or utc_now(),
        )
        sent += await ctx.chat.deliver(record, names.get(m.author or ""))
    return sent


async def agent_names(ctx: GatewayContext, agent_ids: Iterable[str | None]) -> dict[str, str]:
    """The display names of these agents (their id when they have none, or when PostgreSQL
    cannot say: a name never holds up a message)."""
    ids = sorted({a for a in agent_ids if a})
    if not ids:
        return {}
    try:
        rows = await ctx.conversations.pool.fetch(
            "SELECT agent_id, name FROM agents WHERE agent_id = ANY($1::text[])", ids
        )
    except (OSError, asyncpg.PostgresError) as exc:
        metrics.ERRORS.labels(component="gateway_chat", kind=type(exc).__name__).inc()
        rows = []
    names = {r["agent_id"]: r["name"] or r["agent_id"] for r in rows}
    return {a: names.get(a, a) for a in ids}


def sweep_interval(grace_seconds: float) -> float:
    return min(5.0, max(0.2, grace_seconds / 4))


async def end_left_chats(ctx: GatewayContext) -> int:
    """Close the chats left longer than the grace period and tell routing, once each: ended
    when an agent has it, abandoned otherwise. The close is the claim (several gateways may
    sweep) and the records are staged in the edge outbox with it, so a broker away now only
    delays them: the re-sender publishes them. Returns how many were closed."""
    closed = await ctx.conversations.close_left_chats(ctx.settings.chat_reconnect_grace_seconds)
    records: list[Record] = []
    for contact_id, pool_id, routing_status in closed:
        if routing_status in WITH_AN_AGENT:
            records.append(
                ContactEnded(
                    event_id=f"{contact_id}:ended",
                    pool_id=pool_id,
                    contact_id=contact_id,
                    reason="customer_left",
                )
            )
        else:
            records.append(
                ContactAbandoned(
                    event_id=f"{contact_id}:abandoned", pool_id=pool_id, contact_id=contact_id
                )
            )
        outcome = "ended_left" if routing_status in WITH_AN_AGENT else "abandoned"
        metrics.GATEWAY_REQUESTS.labels(channel="chat", outcome=outcome).inc()
    await publish(ctx, *records)
    return len(closed)


async def run_left_chat_sweep(ctx: GatewayContext) -> None:
    """Every few seconds, end the chats whose customer left and did not come back."""
    interval = sweep_interval(ctx.settings.chat_reconnect_grace_seconds)
    while True:
        try:
            await end_left_chats(ctx)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            metrics.ERRORS.labels(component="gateway_chat_sweep", kind=type(exc).__name__).inc()
            log.warning("left chat sweep failed: %r", exc)
        await asyncio.sleep(interval)
