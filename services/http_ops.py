"""The operations endpoints every HTTP service serves: /metrics and /healthz."""

from __future__ import annotations

from aiohttp import web

from streams.platform import metrics


async def metrics_page(request: web.Request) -> web.Response:
    body, content_type = metrics.render()
    return web.Response(body=body, headers={"Content-Type": content_type})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def add_ops_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics_page)
    app.router.add_get("/healthz", health)
