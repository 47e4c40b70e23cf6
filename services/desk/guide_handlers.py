"""The desk's guide API (``Authorization: Bearer <token>``, the agent who holds the contact):

* ``GET /api/guides`` — the guides an agent may pick
* ``GET /api/contacts/{contact_id}/guide`` — the run: steps, current step with its data, notes
* ``POST /api/contacts/{contact_id}/guide`` ``{"guide_id"}`` — the agent's pick (no run yet)
* ``POST /api/contacts/{contact_id}/guide/steps/{step_id}`` ``{"value"}`` — record the step
* ``POST /api/contacts/{contact_id}/guide/steps/{step_id}/skip`` ``{"reason"}``
* ``POST /api/contacts/{contact_id}/guide/notes`` ``{"text", "step_id"?}``
* ``POST /api/contacts/{contact_id}/guide/handover`` — send an escalation's transfer again
  (when its publish failed: 503)

409 for a step whose precondition is unmet, a step done already, an escalated or completed
run (and, on ``/complete``, for required steps missing: ``{"error", "kind", "steps"}``);
400 for an answer the step does not take or a skip without a reason.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.desk.guides import GuideConflict, GuideDesk
from services.http_input import read_json_object
from streams.guides.domain import GuideRefused

CONFLICTS = frozenset(
    {
        "precondition",
        "missing_required",
        "step_done",
        "escalated",
        "completed",
        "no_guide",
        "not_escalated",
    }
)
GUIDES: web.AppKey[GuideDesk] = web.AppKey("guides", GuideDesk)


def refusal(exc: GuideRefused) -> web.Response:
    status = 409 if exc.kind in CONFLICTS else 404 if exc.kind == "unknown_guide" else 400
    body = {"error": str(exc), "kind": exc.kind, "steps": list(exc.steps)}
    return web.json_response(body, status=status)


def _text(body: dict[str, Any], name: str, limit: int = 10_000) -> str:
    value = body.get(name, "")
    if not isinstance(value, str) or len(value) > limit:
        raise web.HTTPBadRequest(text=f"{name!r} must be a string of at most {limit} characters")
    return value


async def catalogue(request: web.Request) -> web.Response:
    return web.json_response({"guides": request.app[GUIDES].catalogue()})


def add_guide_routes(app: web.Application, guides: GuideDesk, own_contact: Any) -> None:
    """Mount the guide API; ``own_contact(request)`` checks the agent holds the contact."""
    app[GUIDES] = guides

    async def show(request: web.Request) -> web.Response:
        _desk, agent, contact_id = await own_contact(request)
        stored = await guides.current(contact_id)
        if stored is None:  # none matched at the offer, or it could not start: try again
            return web.json_response(
                await guides.for_offer(contact_id, agent.agent_id, agent.pool_id)
            )
        return web.json_response(await guides.view(stored))

    async def pick(request: web.Request) -> web.Response:
        _desk, agent, contact_id = await own_contact(request)
        body = await read_json_object(request)
        try:
            view = await guides.pick(contact_id, _text(body, "guide_id", 100), agent)
        except GuideRefused as exc:
            return refusal(exc)
        return web.json_response(view)

    async def act(request: web.Request, action: str, **fields: str) -> web.Response:
        desk, agent, contact_id = await own_contact(request)
        body = await read_json_object(request)
        args = {name: _text(body, key) for name, key in fields.items()}
        if "step_id" in request.match_info:
            args["step_id"] = request.match_info["step_id"]
        elif isinstance(body.get("step_id"), str):
            args["step_id"] = body["step_id"]
        try:
            stored, transition = await guides.act(contact_id, agent, action, **args)
        except GuideRefused as exc:
            return refusal(exc)
        except GuideConflict:
            return web.json_response({"error": "the guide changed: reload it"}, status=409)
        view = await guides.view(stored)
        view["escalated_to"] = None
        if transition.escalation is not None:  # the contact left this agent
            view["escalated_to"] = dict(transition.escalation.skills)
            desk.hub.assigned.pop(contact_id, None)
        return web.json_response(view)

    async def handover(request: web.Request) -> web.Response:
        _desk, agent, contact_id = await own_contact(request)
        try:
            return web.json_response(await guides.hand_over_again(contact_id, agent))
        except GuideRefused as exc:
            return refusal(exc)

    async def record(request: web.Request) -> web.Response:
        return await act(request, "record", value="value")

    async def skip(request: web.Request) -> web.Response:
        return await act(request, "skip", reason="reason")

    async def note(request: web.Request) -> web.Response:
        return await act(request, "note", text="text")

    app.router.add_get("/api/guides", catalogue)
    app.router.add_get("/api/contacts/{contact_id}/guide", show)
    app.router.add_post("/api/contacts/{contact_id}/guide", pick)
    app.router.add_post("/api/contacts/{contact_id}/guide/steps/{step_id}", record)
    app.router.add_post("/api/contacts/{contact_id}/guide/steps/{step_id}/skip", skip)
    app.router.add_post("/api/contacts/{contact_id}/guide/notes", note)
    app.router.add_post("/api/contacts/{contact_id}/guide/handover", handover)
