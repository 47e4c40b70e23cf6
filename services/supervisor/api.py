"""The supervisor API (``/api/supervisor/…``): the pools a supervisor watches, each pool's
floor (a snapshot, or a live stream of server-sent events), and the actions on it. A supervisor
acts on the pools they supervise (an admin on every pool); an agent gets 403 on every route."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from services.admin.model import PoolPolicySpec, Role
from services.admin.routes import Call, Handler, Route, refuse
from services.desk.keys import DESK
from services.supervisor.actions import (
    ActionAccepted,
    Conflict,
    EndIt,
    FloorActions,
    ForceState,
    MoveTo,
    OfferTo,
)
from services.supervisor.floor import FloorView, PoolNames, floor_view
from streams.routing.live_view import routed_pools

KEEPALIVE_SECONDS = 15.0
PAGE = Path(__file__).with_name("page.html")
STATIC = Path(__file__).with_name("static")


def _actions(call: Call) -> FloorActions:
    desk = call.request.app[DESK]
    if desk.admin is None:
        raise refuse(503, "the supervisor API is not configured on this desk")
    return FloorActions(desk.admin.store, desk.publisher, desk.pool)


async def _floor(call: Call) -> FloorView:
    desk = call.request.app[DESK]
    pool_id = call.params["pool_id"]
    policy = PoolPolicySpec()
    if desk.admin is not None and (view := await desk.admin.store.pool(pool_id)) is not None:
        policy = view.policy
    return await floor_view(desk.pool, pool_id, policy, dict(desk.settings.channel_capacity))


async def pools(call: Call) -> PoolNames:
    principal = call.principal
    if principal.role is Role.ADMIN:
        known = set(await routed_pools(call.request.app[DESK].pool))
        return PoolNames(pools=sorted(known | set(principal.supervised_pools)))
    return PoolNames(pools=sorted(principal.supervised_pools))


async def floor(call: Call) -> FloorView:
    return await _floor(call)


async def stream(call: Call) -> web.StreamResponse:
    """The floor as ``event: floor`` whenever it changes (read every
    ``CC_SUPERVISOR_REFRESH_SECONDS``), a comment line to keep the connection alive."""
    request = call.request
    refresh = request.app[DESK].settings.supervisor_refresh_seconds
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    last, quiet = "", 0.0
    with contextlib.suppress(ConnectionResetError, ConnectionError, asyncio.CancelledError):
        await response.write(b"retry: 1000\n: connected\n\n")
        while True:
            view = await _floor(call)
            data = json.dumps(view.model_dump(mode="json", exclude={"at"}), sort_keys=True)
            if data != last:
                body = json.dumps(view.model_dump(mode="json"))
                await response.write(f"event: floor\ndata: {body}\n\n".encode())
                last, quiet = data, 0.0
            elif quiet >= KEEPALIVE_SECONDS:
                await response.write(b": keepalive\n\n")
                quiet = 0.0
            await asyncio.sleep(refresh)
            quiet += refresh
    return response


async def _act(call: Call, action: str) -> ActionAccepted:
    actions, actor, pool_id = _actions(call), call.principal.agent_id, call.params["pool_id"]
    try:
        if action == "state":
            return await actions.force_state(actor, pool_id, call.params["agent_id"], call.body)
        contact_id = call.params["contact_id"]
        if action == "move":
            if not call.principal.supervises(call.body.to_pool_id):
                raise refuse(403, f"you do not supervise pool {call.body.to_pool_id!r}")
            return await actions.move(actor, pool_id, contact_id, call.body)
        if action == "offer":
            return await actions.offer(actor, pool_id, contact_id, call.body)
        return await actions.end(actor, pool_id, contact_id, call.body)
    except Conflict as exc:
        raise refuse(409, str(exc)) from None


async def force_state(call: Call) -> ActionAccepted:
    return await _act(call, "state")


async def move_contact(call: Call) -> ActionAccepted:
    return await _act(call, "move")


async def offer_contact(call: Call) -> ActionAccepted:
    return await _act(call, "offer")


async def end_contact(call: Call) -> ActionAccepted:
    return await _act(call, "end")


SUPERVISOR = Role.SUPERVISOR
POOL = "/api/supervisor/pools/{pool_id}"
CONTACT = POOL + "/contacts/{contact_id}"


def _route(method: str, path: str, op: str, summary: str, handler: Handler, **kw: Any) -> Route:
    return Route(method, path, op, summary, SUPERVISOR, handler, tag="supervisor", **kw)


SUPERVISOR_ROUTES: tuple[Route, ...] = (
    _route(
        "GET",
        "/api/supervisor/pools",
        "listSupervisedPools",
        "The pools I supervise",
        pools,
        answer=PoolNames,
    ),
    _route(
        "GET",
        POOL + "/floor",
        "getFloor",
        "A pool's queues and agents now",
        floor,
        answer=FloorView,
        pools=("pool_id",),
    ),
    _route(
        "GET",
        POOL + "/stream",
        "streamFloor",
        "The pool's floor as server-sent events (event: floor, data: FloorView)",
        stream,
        pools=("pool_id",),
    ),
    _route(
        "POST",
        POOL + "/agents/{agent_id}/state",
        "forceAgentState",
        "Put an agent not ready or log them out, with a reason",
        force_state,
        body=ForceState,
        answer=ActionAccepted,
        status=202,
        pools=("pool_id",),
    ),
    _route(
        "POST",
        CONTACT + "/move",
        "moveContact",
        "Move a waiting contact to another pool, keeping its arrival time",
        move_contact,
        body=MoveTo,
        answer=ActionAccepted,
        status=202,
        pools=("pool_id",),
    ),
    _route(
        "POST",
        CONTACT + "/offer",
        "offerContact",
        "Offer a waiting contact to a named agent, keeping its place",
        offer_contact,
        body=OfferTo,
        answer=ActionAccepted,
        status=202,
        pools=("pool_id",),
    ),
    _route(
        "POST",
        CONTACT + "/end",
        "endContact",
        "End a contact that is stuck",
        end_contact,
        body=EndIt,
        answer=ActionAccepted,
        status=202,
        pools=("pool_id",),
    ),
)


async def page(_request: web.Request) -> web.Response:
    """The floor page; it signs in through the desk's page (one sign-in for all)."""
    return web.Response(text=PAGE.read_text(), content_type="text/html")


def add_floor_page(app: web.Application) -> None:
    app.router.add_get("/supervisor", page)
    app.router.add_static("/floor-static/", STATIC, append_version=False)
