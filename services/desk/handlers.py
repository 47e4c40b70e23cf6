"""The desk process: the agents' page, their live stream of offers (Server-Sent Events), their
actions, /metrics and /healthz.

API (``Authorization: Bearer <token>``; the stream also takes ``?token=``):

* ``GET /api/me`` · ``GET /api/config`` (disposition codes, canned replies) ·
  ``GET /api/queue`` (waiting contacts the agent could take, per class, longest wait) ·
  ``GET /api/stream`` (SSE, for this agent only: first the current work read
  from routing's state rows — ``assignment`` and ``offer``, each with the screen pop — then live
  ``offer``, routing's ``contact_assigned``, ``offer_expired``, ``offer_rescinded``,
  ``contact_released``, ``agent_state_changed`` …, and the contacts' ``message`` (both
  directions, every channel) and ``contact_ended``; an offer is sent once per stream; the first
  event is ``agent_state``, routing's state of the agent; ``retry: 1000`` asks browsers to
  reconnect after a second)
* ``GET /api/status`` (the agent's state from routing's row, since when it holds, and per
  channel the load and capacity: ``{"state", "reason", "since", "capacity": {"chat": {"load",
  "capacity"}}}``; the stream's first ``agent_state`` event carries the same)
* ``POST /api/login`` · ``POST /api/state`` ``{"state": "ready"|"not_ready"|"logged_out",
  "reason"}``
* ``POST /api/offers/{offer_id}/accept`` (waits for routing's assignment; a voice contact is
  then connected to the agent — when the assignment comes later than the wait, on its arrival;
  once per offer) · ``POST /api/offers/{offer_id}/reject`` ``{"reason"}``
* ``GET /api/contacts/{contact_id}`` · ``POST /api/contacts/{contact_id}/reply``
  ``{"text", "id"?}`` (a reply with an ``id`` the agent's earlier reply on the contact carried
  is not sent again: its message id is the answer) ·
  ``POST /api/contacts/{contact_id}/wrapup`` (the agent begins the wrap-up: kept until the
  contact completes, restored with its time on the stream's ``assignment`` as ``wrapup_since``) ·
  ``POST /api/contacts/{contact_id}/typing`` (the agent is typing: see
  ``services.desk.typing_signals``; the stream's ``typing`` events are the customer's) ·
  ``POST /api/contacts/{contact_id}/complete`` ``{"disposition"}`` (409 naming the guide's
  required steps still missing)
* the guide of a contact: see ``services.desk.guide_handlers``

401 without a valid token; 403 for another agent's offer or contact.

The page (``GET /``, its files under ``/static/``) signs in with ``POST /session`` ``{"token"}``
(an HttpOnly cookie; ``DELETE /session`` signs out) and sends ``X-Desk-Page: 1`` on changes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from schemas import agents as ag
from schemas.base import Record
from schemas.routing import ContactAssigned, OfferMade
from services.admin.api import ADMIN_ROUTES
from services.admin.routes import install as install_routes
from services.desk import wrapups
from services.desk.api_doc import add_desk_document
from services.desk.auth import Agent, agent_for_token
from services.desk.channels import ChannelRefused, ChannelUnavailable
from services.desk.desk import Desk
from services.desk.guide_handlers import add_guide_routes, refusal
from services.desk.keys import AGENT, DESK
from services.desk.page_routes import add_page_routes, request_token
from services.desk.survey_handlers import add_survey_routes, survey_after_completion
from services.desk.transfers import add_transfer_routes
from services.desk.typing_signals import add_typing_route
from services.http_input import check_url, read_json_object
from services.http_ops import add_ops_routes
from services.publisher import PublishFailed
from services.supervisor.api import SUPERVISOR_ROUTES, add_floor_page
from streams.guides.domain import GuideRefused
from streams.platform import metrics

log = logging.getLogger(__name__)

PAGE = Path(__file__).with_name("page.html")
KEEPALIVE_SECONDS = 15.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _offer_key(event: dict[str, Any]) -> str | None:
    body = event.get("offer") or event.get("assignment")
    return str(body["offer_id"]) if isinstance(body, dict) and "offer_id" in body else None


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate /api/*; map failures to answers (never a 2xx for an unpublished event)."""
    check_url(request)
    if request.path.startswith("/api/"):
        agent = await agent_for_token(request.app[DESK].pool, request_token(request))
        if agent is None:
            raise web.HTTPUnauthorized(text="missing or unknown agent token")
        request[AGENT] = agent
    try:
        return await handler(request)
    except PublishFailed as exc:
        return web.json_response({"error": str(exc)}, status=503, headers={"Retry-After": "2"})
    except ChannelRefused as exc:
        return web.json_response({"error": exc.reason}, status=exc.status)
    except ChannelUnavailable as exc:
        return web.json_response({"error": str(exc)}, status=502)
    except web.HTTPException:
        raise
    except Exception as exc:
        log.exception("desk request %s failed", request.path)
        metrics.ERRORS.labels(component="desk", kind=type(exc).__name__).inc()
        return web.json_response({"error": "internal error"}, status=500)


def _text(body: dict[str, Any], name: str, *, required: bool, limit: int = 10_000) -> str:
    value = body.get(name, "")
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise web.HTTPBadRequest(text=f"{name!r} must be a string of at most {limit} characters")
    return value


# ---------------------------------------------------------------- page, stream, state
async def page(request: web.Request) -> web.Response:
    return web.Response(text=PAGE.read_text(), content_type="text/html")


async def me(request: web.Request) -> web.Response:
    agent: Agent = request[AGENT]
    return web.json_response(
        {
            "agent_id": agent.agent_id,
            "pool_id": agent.pool_id,
            "name": agent.name,
            "skills": agent.skills,
            "role": agent.role.value,
            "supervised_pools": list(agent.supervised_pools),
        }
    )


async def status(request: web.Request) -> web.Response:
    desk, agent = request.app[DESK], request[AGENT]
    record = await desk.agent_status(agent)
    if record is None:
        raise web.HTTPNotFound(text="routing holds no state of this agent yet")
    return web.json_response({**record, "since": record["since"].isoformat()})


async def stream(request: web.Request) -> web.StreamResponse:
    desk, agent = request.app[DESK], request[AGENT]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    queue = desk.hub.subscribe(agent.agent_id)  # live events queue up while the rows are read
    shown: set[str] = set()  # offer ids sent on this stream
    try:
        await response.write(b"retry: 1000\n: connected\n\n")
        for event in await desk.current_work(agent):
            shown.add(_offer_key(event) or "")
            await _send(response, event)
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                await response.write(b": keepalive\n\n")
                continue
            if event["type"] == "offer":
                key = _offer_key(event)
                if key in shown:
                    continue  # restored from routing's state already
                shown.add(key or "")
            await _send(response, event)
    except (ConnectionResetError, ConnectionError, asyncio.CancelledError):
        pass
    finally:
        desk.hub.unsubscribe(agent.agent_id, queue)
    return response


async def _send(response: web.StreamResponse, event: dict[str, Any]) -> None:
    data = json.dumps(event, default=str)
    await response.write(f"event: {event['type']}\ndata: {data}\n\n".encode())


async def login(request: web.Request) -> web.Response:
    desk, agent = request.app[DESK], request[AGENT]
    await desk.publish(
        agent,
        ag.AgentLoggedIn(
            pool_id=agent.pool_id,
            agent_id=agent.agent_id,
            skills=agent.skills,
            capacity=agent.capacity or None,
            name=agent.name,
        ),
    )
    return web.json_response({"status": "logged_in"})


async def state(request: web.Request) -> web.Response:
    desk, agent = request.app[DESK], request[AGENT]
    body = await read_json_object(request)
    wanted = body.get("state")
    pool_id, agent_id = agent.pool_id, agent.agent_id
    record: Record
    if wanted == "ready":
        record = ag.AgentReady(pool_id=pool_id, agent_id=agent_id)
    elif wanted == "not_ready":
        reason = _text(body, "reason", required=False, limit=100) or "break"
        record = ag.AgentNotReady(pool_id=pool_id, agent_id=agent_id, reason=reason)
    elif wanted == "logged_out":
        record = ag.AgentLoggedOut(pool_id=pool_id, agent_id=agent_id)
    else:
        raise web.HTTPBadRequest(text="state must be ready, not_ready or logged_out")
    await desk.publish(agent, record)
    return web.json_response({"status": wanted})


# ---------------------------------------------------------------- offers
def _own_offer(request: web.Request) -> tuple[Desk, Agent, str]:
    desk, agent = request.app[DESK], request[AGENT]
    offer_id = request.match_info["offer_id"]
    offer = desk.hub.offers.get(offer_id)
    if offer is None:
        raise web.HTTPNotFound(text=f"no open offer {offer_id}")
    if offer.agent_id != agent.agent_id:
        raise web.HTTPForbidden(text="this offer is for another agent")
    return desk, agent, offer_id


async def accept(request: web.Request) -> web.Response:
    desk, agent, offer_id = _own_offer(request)
    offer = desk.hub.offers[offer_id]
    closed = desk.hub.closed.get(offer_id)
    if closed == "assigned":  # accepted already: the same answer, the connect is not repeated
        return await _assigned_answer(desk, agent, offer)
    if closed is not None:
        return web.json_response({"status": closed, "offer_id": offer_id}, status=409)
    outcome = desk.hub.wait_outcome(offer_id, desk.settings.desk_accept_wait_seconds)
    waiting = asyncio.ensure_future(outcome)
    await asyncio.sleep(0)  # register the waiter before the answer can arrive
    desk.accepted[offer_id] = agent  # a late assignment still connects
    try:
        await desk.publish(
            agent,
            ag.OfferAccepted(
                event_id=f"{offer_id}:accepted",
                pool_id=agent.pool_id,
                agent_id=agent.agent_id,
                offer_id=offer_id,
            ),
        )
    except BaseException:
        desk.accepted.pop(offer_id, None)
        waiting.cancel()
        raise
    result = await waiting
    if result is None:
        return web.json_response({"status": "pending", "offer_id": offer_id}, status=202)
    if not isinstance(result, ContactAssigned):
        desk.accepted.pop(offer_id, None)
        return web.json_response({"status": result.TYPE, "offer_id": offer_id}, status=409)
    return await _assigned_answer(desk, agent, offer)


async def _assigned_answer(desk: Desk, agent: Agent, offer: OfferMade) -> web.Response:
    answer: dict[str, Any] = {
        "status": "assigned",
        "offer_id": offer.offer_id,
        "contact_id": offer.contact_id,
    }
    desk.accepted.pop(offer.offer_id, None)
    call_sid = await asyncio.shield(desk.connect_once(offer.offer_id, offer.contact_id, agent))
    if call_sid is not None:
        answer["call_sid"] = call_sid
    return web.json_response(answer)


async def reject(request: web.Request) -> web.Response:
    desk, agent, offer_id = _own_offer(request)
    body = await read_json_object(request)
    await desk.publish(
        agent,
        ag.OfferRejected(
            event_id=f"{offer_id}:rejected",
            pool_id=agent.pool_id,
            agent_id=agent.agent_id,
            offer_id=offer_id,
            reason=_text(body, "reason", required=False, limit=200),
        ),
    )
    return web.json_response({"status": "rejected", "offer_id": offer_id})


# ---------------------------------------------------------------- contacts
async def _own_contact(request: web.Request) -> tuple[Desk, Agent, str]:
    desk, agent = request.app[DESK], request[AGENT]
    contact_id = request.match_info["contact_id"]
    owner = await desk.owner(contact_id)  # also assigned before this desk process started
    if owner is None:
        raise web.HTTPNotFound(text=f"contact {contact_id} is not assigned")
    if owner != agent.agent_id:
        raise web.HTTPForbidden(text="this contact is assigned to another agent")
    return desk, agent, contact_id


async def contact(request: web.Request) -> web.Response:
    desk, _agent, contact_id = await _own_contact(request)
    conversation = await desk.conversations.get(contact_id)
    messages = await desk.conversations.messages(contact_id)
    return web.json_response(
        {
            "contact_id": contact_id,
            "channel": conversation.channel if conversation else None,
            "status": conversation.status if conversation else None,
            "messages": [m.as_json() for m in messages],
        }
    )


async def reply(request: web.Request) -> web.Response:
    desk, agent, contact_id = await _own_contact(request)
    body = await read_json_object(request)
    text = _text(body, "text", required=True)
    client_id = _text(body, "id", required=False, limit=100) or None  # the page's id: once
    if client_id is not None:
        sent = await desk.actions.sent_before(contact_id, agent, client_id)
        if sent is not None:  # a retry of a reply whose answer was lost: not sent again
            return web.json_response({"status": "sent", "message_id": sent})
    conversation = await desk.conversations.get(contact_id)
    if conversation is None or conversation.status != "open":
        raise web.HTTPConflict(text="the conversation is closed")
    message_id = await desk.actions.reply(conversation, agent, text, client_id)
    return web.json_response({"status": "sent", "message_id": message_id})


async def complete(request: web.Request) -> web.Response:
    desk, agent, contact_id = await _own_contact(request)
    disposition = _text(await read_json_object(request), "disposition", required=False, limit=200)
    if desk.guides is not None:  # required steps first (409 naming the missing ones)
        try:
            await desk.guides.complete(contact_id, agent)
        except GuideRefused as exc:
            return refusal(exc)
    conversation = await desk.conversations.get(contact_id)
    if conversation is not None:  # stored and sent before the chat ends for the customer
        await survey_after_completion(desk, agent, conversation)
    await desk.publish(
        agent,
        ag.ContactCompleted(
            event_id=f"{contact_id}:completed",
            pool_id=conversation.pool_id if conversation else agent.pool_id,
            agent_id=agent.agent_id,
            contact_id=contact_id,
            disposition=disposition,
        ),
    )
    await desk.conversations.close(contact_id)
    await wrapups.forget(desk.pool, contact_id)
    desk.hub.assigned.pop(contact_id, None)
    return web.json_response({"status": "completed", "contact_id": contact_id})


async def wrapup(request: web.Request) -> web.Response:
    desk, agent, contact_id = await _own_contact(request)
    since = await wrapups.start(desk.pool, contact_id, agent.agent_id)
    return web.json_response({"contact_id": contact_id, "wrapup_since": since.isoformat()})


def create_app(desk: Desk) -> web.Application:
    app = web.Application(client_max_size=256 * 1024, middlewares=[guard])
    app[DESK] = desk
    app.router.add_get("/", page)
    add_page_routes(app)
    app.router.add_get("/api/me", me)
    app.router.add_get("/api/stream", stream)
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/state", state)
    app.router.add_post("/api/offers/{offer_id}/accept", accept)
    app.router.add_post("/api/offers/{offer_id}/reject", reject)
    app.router.add_get("/api/contacts/{contact_id}", contact)
    app.router.add_post("/api/contacts/{contact_id}/reply", reply)
    app.router.add_post("/api/contacts/{contact_id}/complete", complete)
    app.router.add_get("/api/status", status)
    app.router.add_post("/api/contacts/{contact_id}/wrapup", wrapup)
    add_typing_route(app, _own_contact)
    add_transfer_routes(app, _own_contact)
    if desk.guides is not None:
        add_guide_routes(app, desk.guides, _own_contact)
    add_survey_routes(app, desk)
    install_routes(app, ADMIN_ROUTES + SUPERVISOR_ROUTES)
    add_desk_document(app)
    add_floor_page(app)
    add_ops_routes(app, desk.settings)
    return app
