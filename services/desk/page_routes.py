"""The desk page's own routes: its static files, sign-in into a cookie, its settings and the
queue view. The JSON API and its ``Authorization: Bearer`` tokens are unchanged by them: a
request with the header is authenticated by it; the page, which cannot put a header on an
``EventSource``, signs in once and then carries an HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.desk.auth import agent_for_token
from services.desk.keys import AGENT, DESK
from services.http_input import read_json_object
from services.queue_view import unservable_lines, waiting_by_channel, waiting_by_class

STATIC = Path(__file__).with_name("static")
SESSION_COOKIE = "cc_desk_session"
PAGE_HEADER = "X-Desk-Page"
SESSION_SECONDS = 12 * 3600
MAX_TOKEN = 200


def request_token(request: web.Request) -> str:
    """The agent token: the ``Authorization: Bearer`` header (the API), ``?token=`` (older SSE
    clients), or the page's sign-in cookie. A cookie alone does not authorise a change: the
    page adds ``X-Desk-Page`` (a custom header, which another site cannot send without CORS)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:]
    if "token" in request.query:
        return request.query["token"]
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if cookie and request.method not in ("GET", "HEAD") and not request.headers.get(PAGE_HEADER):
        raise web.HTTPForbidden(text=f"a signed-in page sends {PAGE_HEADER}")
    return cookie


async def sign_in(request: web.Request) -> web.Response:
    """The sign-in form posts the agent's token; it is kept in an HttpOnly, SameSite=Strict
    cookie (never in the URL), and the page's requests and stream carry it from then on."""
    token = (await read_json_object(request)).get("token")
    if not isinstance(token, str) or not token.strip() or len(token) > MAX_TOKEN:
        raise web.HTTPBadRequest(text=f"'token' must be a string of at most {MAX_TOKEN} characters")
    token = token.strip()
    agent = await agent_for_token(request.app[DESK].pool, token)
    if agent is None:
        return web.json_response({"error": "unknown agent token"}, status=401)
    answer = web.json_response({"agent_id": agent.agent_id, "name": agent.name})
    answer.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        path="/",
        max_age=SESSION_SECONDS,
    )
    return answer


async def sign_out(request: web.Request) -> web.Response:
    answer = web.json_response({"status": "signed_out"})
    answer.del_cookie(SESSION_COOKIE, path="/")
    return answer


async def desk_config(request: web.Request) -> web.Response:
    """The wrap-up codes and canned replies of the agent's pool, as an admin set them
    (``/api/admin/pools/{pool}/…``), else the desk's defaults (``CC_DESK_*``)."""
    desk, agent = request.app[DESK], request[AGENT]
    codes, replies = desk.settings.desk_disposition_codes, desk.settings.desk_canned_replies
    if desk.admin is not None and (pool := await desk.admin.store.pool(agent.pool_id)):
        codes = pool.wrapup_codes or codes
        replies = pool.canned_replies or replies
    return web.json_response({"disposition_codes": codes, "canned_replies": replies})


async def queue(request: web.Request) -> web.Response:
    """The waiting contacts this agent could take, per class and per channel (routing's live
    view), and the pool's contacts nobody logged in could take (whatever this agent's
    skills)."""
    desk, agent = request.app[DESK], request[AGENT]
    lines = await waiting_by_class(desk.pool, agent.pool_id, agent.skills)
    channels = await waiting_by_channel(desk.pool, agent.pool_id, agent.skills)
    unservable = await unservable_lines(desk.pool, agent.pool_id)
    return web.json_response(
        {
            "pool_id": agent.pool_id,
            "classes": [x.as_json() for x in lines],
            "channels": [x.as_json() for x in channels],
            "unservable": [x.as_json() for x in unservable],
        }
    )


def add_page_routes(app: web.Application) -> None:
    app.router.add_post("/session", sign_in)
    app.router.add_delete("/session", sign_out)
    app.router.add_static("/static/", STATIC, append_version=False)
    app.router.add_get("/api/config", desk_config)
    app.router.add_get("/api/queue", queue)
