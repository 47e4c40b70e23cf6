"""Web chat: a session per browser, a WebSocket for messages both ways, and the page.

* ``POST /chat/sessions`` (JSON ``{"name", "email", "customer_id", "identity_hash"}``, all
  optional; ``customer_id`` needs the site's ``identity_hash``) → ``{"session_id", "known"}``
  and the session's secret in an HttpOnly cookie (``chat_sessions``: who may read, write and
  end a chat). ``POST /chat/session/resume`` rotates the secret (a page load);
  ``DELETE /chat/session`` ends the session (the site's customer signed out).
* ``GET /chat/ws`` (WebSocket, the cookie proves the session). Customer → gateway:
  ``{"type": "message", "text", "id"?}``, ``{"type": "end"}``, ``{"type": "status"}``,
  ``{"type": "transcript", "email"}``, ``{"type": "typing"}`` (the customer is typing: published
  on the ephemeral ``typing`` topic, at most one every ``TYPING_EVERY_SECONDS`` per socket, never
  stored). Gateway → customer: ``typing`` (``agent_name``: the agent is typing), ``history``,
  ``ack`` (the message
  is stored and published: only then may a page show it as sent), ``message`` (from the agent,
  with their name and time), ``status`` (``waiting`` with the place in line, ``offered``,
  ``with_agent``), ``ended`` (``by`` the customer or the agent), ``transcript_sent``, ``error``
  (with the message's ``id`` when a message was not taken: the page sends it again). The first
  message opens the contact; ``end`` ends it. A message id sent again is stored and published
  once (the edge outbox), also when its first attempt found the broker away.
* ``GET /chat`` the embeddable page (``/chat?embed=1`` in an iframe); ``GET /chat/config`` its
  greeting, business hours and whether it shows the pre-chat form.

Agent messages reach the customer through the contacts topic (``ContactMessageSent``): every
gateway process reads it and delivers to the sockets it holds. When the agent completes the
contact (``ContactCompleted`` on the agent-events topic) the gateways holding its sockets tell
the customer (``ended`` by the agent).

A socket that closes without ``end`` leaves the chat open for ``chat_reconnect_grace_seconds``
(the time is kept in PostgreSQL, so any gateway, also after a restart, sees it): a reconnect
resumes the chat; otherwise one gateway's sweep closes it and publishes ``ContactEnded`` when
routing has it assigned, ``ContactAbandoned`` while it waits or is offered.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from schemas.contacts import (
    Channel,
    ChatLeftAsMessage,
    ContactEnded,
    ContactMessageReceived,
)
from schemas.presence import Typing, Typist
from schemas.topics import TYPING
from services.conversations import Conversation
from services.customers import CustomerProfile
from services.gateway import chat_session_routes
from services.gateway.arrivals import open_contact, publish
from services.gateway.chat_sessions import ChatSession, SessionRefused, check_origin, secret_from
from services.gateway.chat_tasks import WITH_AN_AGENT, agent_names
from services.gateway.chat_transcript import (
    TranscriptNotSent,
    looks_like_address,
    send_transcript,
    transcript_mail,
)
from services.gateway.context import CONTEXT, GatewayContext
from services.http_input import BadInput, json_object
from services.publisher import PublishFailed
from services.queue_view import place_in_line
from streams.platform import metrics
from streams.routing.live_view import contact_status

log = logging.getLogger(__name__)

PAGE = Path(__file__).with_name("chat.html")
MAX_TEXT = 10_000
FRAMES = (
    "message",
    "end",
    "status",
    "transcript",
    "leave_message",
    "typing",
)  # routing statuses in which an agent has the contact
TYPING_EVERY_SECONDS = 2.0  # a customer's typing signals published at most this often


async def page(request: web.Request) -> web.Response:
    return web.Response(text=PAGE.read_text(), content_type="text/html")


async def page_config(request: web.Request) -> web.Response:
    settings = request.app[CONTEXT].settings
    return web.json_response(
        {
            "greeting": settings.chat_greeting,
            "business_hours": settings.chat_business_hours,
            "prechat_form": settings.chat_prechat_form,
            # the sites that may post a signed identity into the page (an embedding iframe)
            "embed_origins": settings.chat_allowed_origins,
        }
    )


async def socket(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    try:
        check_origin(request, ctx.settings)
        session = await ctx.chat_sessions.prove(secret_from(request))
    except SessionRefused as refused:
        metrics.GATEWAY_REQUESTS.labels(channel="chat", outcome="unauthorized").inc()
        return refused.response()
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=64 * 1024)
    await ws.prepare(request)
    chat = _ChatSession(ctx, ws, session)
    ctx.chat.open.add(ws)
    try:
        await chat.resume()
        async for frame in ws:
            if frame.type is WSMsgType.TEXT:
                await chat.on_text(frame.data)
            elif frame.type is WSMsgType.BINARY:
                metrics.GATEWAY_REQUESTS.labels(channel="chat", outcome="malformed").inc()
                await chat.error("binary frames are not accepted; send JSON text frames")
            elif frame.type is WSMsgType.ERROR:
                break
    finally:
        ctx.chat.open.discard(ws)
        await chat.detach()
    return ws


class _ChatSession:
    def __init__(self, ctx: GatewayContext, ws: web.WebSocketResponse, session: ChatSession):
        self.ctx = ctx
        self.ws = ws
        self.session = session
        self.conversation: Conversation | None = None
        self.last_contact_id: str | None = None  # for a transcript after the end
        self.message_left = False  # then the chat waits on as an e-mail: no grace period
        self.typed_at = float("-inf")  # when this socket's last typing signal was published

    async def resume(self) -> None:
        self.conversation = await self.ctx.conversations.open_for("chat", self.session.chat_id)
        if self.conversation is not None:
            # a chat left as a message waits on as an e-mail (routing's row says so): leaving
            # the page again must not start the grace period that would end it
            routed = await contact_status(
                self.ctx.conversations.pool, self.conversation.pool_id, self.conversation.contact_id
            )
            self.message_left = routed is not None and routed.channel == "email"
            self.ctx.chat.join(self.conversation.contact_id, self.ws)
            await self.ctx.conversations.customer_present(self.conversation.contact_id, True)
            history = await self.ctx.conversations.messages(self.conversation.contact_id)
            names = await agent_names(self.ctx, [m.author for m in history if m.direction == "out"])
            messages = [
                {**m.as_json(), "agent_name": names.get(m.author or "")}
                if m.direction == "out"
                else m.as_json()
                for m in history
            ]
            await self.ws.send_json({"type": "history", "messages": messages})

    async def detach(self) -> None:
        """The socket closed: when it was the chat's last one here, the grace period starts."""
        if self.conversation is None:
            return
        if self.ctx.chat.leave(self.conversation.contact_id, self.ws) and not self.message_left:
            try:
                await self.ctx.conversations.customer_present(self.conversation.contact_id, False)
            except Exception as exc:
                metrics.ERRORS.labels(component="gateway_chat", kind=type(exc).__name__).inc()
                log.warning("could not record that chat %s was left: %r", self.conversation, exc)

    async def error(self, reason: str, message_id: Any = None) -> None:
        frame: dict[str, Any] = {"type": "error", "reason": reason}
        if message_id is not None:
            frame["id"] = message_id  # this message was not taken
        await self.ws.send_json(frame)

    async def on_text(self, data: str) -> None:
        expected = (
            'expected {"type": "message", "text": ...}, {"type": "end"}, {"type": "status"},'
            ' {"type": "typing"} or {"type": "transcript", "email": ...}'
        )
        try:
            frame = json_object(data, "frame")
        except BadInput as exc:
            metrics.GATEWAY_REQUESTS.labels(channel="chat", outcome="malformed").inc()
            await self.error(f"{exc}; {expected}")
            return
        if frame.get("type") not in FRAMES:  # a list or an object is not a type
            metrics.GATEWAY_REQUESTS.labels(channel="chat", outcome="malformed").inc()
            await self.error(expected)
            return
        try:
            if frame["type"] == "end":
                await self.end()
            elif frame["type"] == "status":
                await self.status()
            elif frame["type"] == "transcript":
                await self.transcript(frame.get("email"))
            elif frame["type"] == "leave_message":
                await self.leave_message(frame.get("email"))
            elif frame["type"] == "typing":
                await self.typing()
            else:
                await self.message(frame)
        except PublishFailed:
            metrics.GATEWAY_REQUESTS.labels(channel="chat", outcome="unavailable").inc()
            await self.error("unavailable, please send again", frame.get("id"))
        except Exception as exc:
            log.exception("chat frame failed")
            metrics.ERRORS.labels(component="gateway_chat", kind=type(exc).__name__).inc()
            await self.error("internal error, please send again", frame.get("id"))

    async def typing(self) -> None:
        """The customer is typing: a signal for the agent's desk, throttled, best effort (a
        broker away loses it, and nothing else)."""
        now = time.monotonic()
        if self.conversation is None or now - self.typed_at < TYPING_EVERY_SECONDS:
            return
        self.typed_at = now
        signal = Typing(contact_id=self.conversation.contact_id, who=Typist.CUSTOMER)
        try:
            await self.ctx.publisher.publish(TYPING, signal.contact_id, signal)
        except PublishFailed:
            log.info("typing signal of %s not published", signal.contact_id)

    async def message(self, frame: dict[str, Any]) -> None:
        text = frame.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            metrics.GATEWAY_REQUESTS.labels(channel="chat", outcome="malformed").inc()
            await self.error(f"text must be a non-empty string of at most {MAX_TEXT} characters")
            return
        client_id = frame.get("id")
        message_id = f"chat:{self.session.session_id}:{client_id or uuid.uuid4().hex}"[:200]
        known = await self.ctx.conversations.message(message_id)
        if known is not None:  # sent again (no ack reached the page): the same message
            self.conversation = await self.ctx.conversations.get(known.contact_id)
        elif self.conversation is not None:  # the agent may have completed it meanwhile
            self.conversation = await self.ctx.conversations.get(self.conversation.contact_id)
        if self.conversation is None or (known is None and self.conversation.status != "open"):
            await self.open(text)
        assert self.conversation is not None
        if known is None:
            await self.ctx.conversations.add_message(
                message_id, self.conversation.contact_id, "in", self.session.chat_id, text
            )
        await publish(
            self.ctx,
            ContactMessageReceived(
                event_id=message_id,
                pool_id=self.conversation.pool_id,
                contact_id=self.conversation.contact_id,
                channel=Channel.CHAT,
                body=known.body if known is not None else text,
                message_id=message_id,
            ),
        )
        metrics.GATEWAY_REQUESTS.labels(channel="chat", outcome="accepted").inc()
        stored = await self.ctx.conversations.message(message_id)
        await self.ws.send_json(
            {
                "type": "ack",
                "id": client_id,
                "contact_id": self.conversation.contact_id,
                "at": stored.created_at.isoformat() if stored and stored.created_at else None,
            }
        )

    async def open(self, first_text: str) -> None:
        ctx = self.ctx
        session = self.session
        if session.customer_id is not None:  # the embedding site signed who this is
            profile = await ctx.customers.find(customer_id=session.customer_id)
            if not profile.known:
                profile = replace(profile, chat_id=session.chat_id)
        else:  # anonymous: what the visitor typed names nobody
            profile = CustomerProfile(
                chat_id=session.chat_id, language=ctx.settings.default_language
            )
        if profile.name is None and session.name:
            profile = replace(profile, name=session.name)
        self.conversation, _created = await open_contact(
            ctx,
            Conversation(
                contact_id=f"chat-{uuid.uuid4().hex}",
                pool_id=ctx.pool_id,
                channel="chat",
                address=session.chat_id,
                customer_id=profile.customer_id,
                customer_class=profile.routing_class(ctx.settings.class_weights),
                subject=first_text[:120],
            ),
            profile,
        )
        ctx.chat.join(self.conversation.contact_id, self.ws)

    async def end(self) -> None:
        conversation = self.conversation
        if conversation is not None and conversation.status == "open":
            await publish(
                self.ctx,
                ContactEnded(
                    event_id=f"{conversation.contact_id}:ended",
                    pool_id=conversation.pool_id,
                    contact_id=conversation.contact_id,
                    reason="customer_left",
                ),
            )
            await self.ctx.conversations.close(conversation.contact_id)
            self.ctx.chat.leave(conversation.contact_id, self.ws)
            self.last_contact_id = conversation.contact_id
            self.conversation = None
        await self.ws.send_json({"type": "ended", "by": "customer"})

    async def status(self) -> None:
        """Where the chat stands: waiting (with the place in line), offered, with an agent."""
        conversation = self.conversation
        if conversation is None or conversation.status != "open":
            await self.ws.send_json({"type": "status", "state": "none"})
            return
        settings = self.ctx.settings
        place = await place_in_line(
            self.ctx.conversations.pool,
            conversation.pool_id,
            conversation.contact_id,
            settings.class_weights,
            settings.aging_per_second,
        )
        frame: dict[str, Any] = {"type": "status", "state": place.status or "waiting"}
        if place.position is not None:
            frame["position"] = place.position
        if place.no_agent:  # nobody logged in could take it: never a number
            frame["no_agent"] = True
        elif place.predicted_wait_seconds is not None:
            frame["predicted_wait_seconds"] = place.predicted_wait_seconds
            frame["rough"] = place.rough
        if place.status in WITH_AN_AGENT:
            frame["state"] = "with_agent"
            names = await agent_names(self.ctx, [place.agent_id])
            frame["agent_name"] = names.get(place.agent_id or "")
        await self.ws.send_json(frame)

    async def leave_message(self, address: Any) -> None:
        """No agent who could take the chat is there: it waits on as an e-mail answered at
        ``address``, keeping its place in line (routing moves it to the e-mail queue)."""
        conversation = self.conversation
        if not isinstance(address, str) or not looks_like_address(address.strip()):
            await self.error("give an e-mail address for the answer")
            return
        routed = None
        if conversation is not None and conversation.status == "open":
            routed = await contact_status(
                self.ctx.conversations.pool, conversation.pool_id, conversation.contact_id
            )
        if conversation is None or routed is None or routed.status != "waiting":
            await self.error("there is no waiting chat to leave as a message")
            return
        await publish(
            self.ctx,
            ChatLeftAsMessage(
                event_id=f"{conversation.contact_id}:left-message",
                pool_id=conversation.pool_id,
                contact_id=conversation.contact_id,
                reply_to=address.strip(),
            ),
        )
        self.message_left = True
        await self.ws.send_json({"type": "message_left", "email": address.strip()})

    async def transcript(self, address: Any) -> None:
        contact_id = self.conversation.contact_id if self.conversation else self.last_contact_id
        if not isinstance(address, str) or not looks_like_address(address.strip()):
            await self.error("give an e-mail address for the transcript")
            return
        if contact_id is None:
            await self.error("there is no chat to send yet")
            return
        messages = await self.ctx.conversations.messages(contact_id, limit=500)
        names = await agent_names(self.ctx, [m.author for m in messages if m.direction == "out"])
        mail = transcript_mail(self.ctx.settings, address.strip(), contact_id, messages, names)
        try:
            await send_transcript(self.ctx.settings, mail)
        except TranscriptNotSent as exc:
            await self.error(str(exc))
            return
        await self.ws.send_json({"type": "transcript_sent", "email": address.strip()})


async def close_sockets(app: web.Application) -> None:
    await app[CONTEXT].chat.close_all()


def add_routes(app: web.Application) -> None:
    app.on_shutdown.append(close_sockets)
    app.router.add_get("/chat", page)
    app.router.add_get("/chat/config", page_config)
    chat_session_routes.add_routes(app)
    app.router.add_get("/chat/ws", socket)
