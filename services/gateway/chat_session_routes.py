"""The chat session's HTTP routes: start (``POST /chat/sessions``), resume with a rotated
secret (``POST /chat/session/resume``) and end (``DELETE /chat/session``). What a session
proves and how: :mod:`services.gateway.chat_sessions`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.gateway.chat_sessions import (
    SessionRefused,
    check_origin,
    clear_cookie,
    secret_from,
    set_cookie,
    verify_identity,
)
from services.gateway.context import CONTEXT
from services.http_input import read_json_object

MAX_SESSION_FIELD = 200  # name, e-mail, customer id


async def create_session(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        check_origin(request, ctx.settings)
        body = await read_json_object(request)
        name, email, customer_id = _session_fields(body)
        chat_id = None
        if customer_id is not None:
            verify_identity(
                ctx.settings.chat_identity_secret, customer_id, body.get("identity_hash")
            )
            profile = await ctx.customers.find(customer_id=customer_id)
            chat_id = profile.chat_id or f"customer-{customer_id}"
        session, secret = await ctx.chat_sessions.create(
            name=name, email=email, customer_id=customer_id, chat_id=chat_id
        )
    except SessionRefused as refused:
        return refused.response()
    response = web.json_response({"session_id": session.session_id, "known": session.verified})
    set_cookie(request, response, secret, ctx.settings)
    return response


def _session_fields(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    if "chat_id" in body:
        raise web.HTTPBadRequest(
            text="chat_id is not accepted: a chat is resumed with its session cookie, and a"
            " known customer is named by customer_id with the site's identity_hash"
        )
    unknown = set(body) - {"name", "email", "customer_id", "identity_hash"}
    values = [body.get(k) for k in ("name", "email", "customer_id")]
    if unknown or not all(
        isinstance(v, str | None) and len(v or "") <= MAX_SESSION_FIELD for v in values
    ):
        raise web.HTTPBadRequest(
            text="expected an object with optional string name/email/customer_id/identity_hash"
            f" of at most {MAX_SESSION_FIELD} characters"
            + (f"; unknown fields: {', '.join(sorted(map(str, unknown)))}" if unknown else "")
        )
    name, email, customer_id = values
    return name or None, email or None, customer_id or None


async def resume_session(request: web.Request) -> web.Response:
    """A page load: prove the session, rotate its secret, say whether a chat is open."""
    ctx = request.app[CONTEXT]
    try:
        check_origin(request, ctx.settings)
        session, secret = await ctx.chat_sessions.rotate(secret_from(request))
    except SessionRefused as refused:
        return refused.response()
    conversation = await ctx.conversations.open_for("chat", session.chat_id)
    response = web.json_response(
        {
            "session_id": session.session_id,
            "known": session.verified,
            "name": session.name,
            "email": session.email,
            "open": conversation is not None,
        }
    )
    set_cookie(request, response, secret, ctx.settings)
    return response


async def end_session(request: web.Request) -> web.Response:
    """The customer signed out of the embedding site: this browser's session ends."""
    ctx = request.app[CONTEXT]
    try:
        check_origin(request, ctx.settings)
        if not await ctx.chat_sessions.revoke(secret_from(request)):
            raise SessionRefused("unknown_secret", 401, "unknown chat session")
    except SessionRefused as refused:
        return refused.response()
    response = web.Response(status=204)
    clear_cookie(response)
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_post("/chat/sessions", create_session)
    app.router.add_post("/chat/session/resume", resume_session)
    app.router.add_delete("/chat/session", end_session)
