"""The operations endpoints every HTTP service serves: /metrics, /healthz (liveness) and
/readyz (503 with the reasons while the broker or the database does not answer within the
readiness deadline)."""

from __future__ import annotations

from aiohttp import web

from streams.platform import ops_server, readiness
from streams.platform.settings import PlatformSettings

SETTINGS = web.AppKey("ops_settings", PlatformSettings)


async def metrics_page(request: web.Request) -> web.Response:
    body, content_type = ops_server.render()
    return web.Response(body=body, headers={"Content-Type": content_type})


async def health(request: web.Request) -> web.Response:
    return web.json_response(readiness.HEALTHY)


async def ready(request: web.Request) -> web.Response:
    found = await readiness.check(request.app[SETTINGS])
    status, body = readiness.answer(found)
    return web.json_response(body, status=status)


def add_ops_routes(app: web.Application, settings: PlatformSettings) -> None:
    app[SETTINGS] = settings
    app.router.add_get("/metrics", metrics_page)
    app.router.add_get("/healthz", health)
    app.router.add_get("/readyz", ready)
