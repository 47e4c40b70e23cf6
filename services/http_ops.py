"""The operations endpoints every HTTP service serves: /metrics, /healthz (liveness) and
/readyz (503 with the reasons while the broker or the database does not answer within the
readiness deadline)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from services.api_table import JSON, TEXT, Answer, Body, Operation
from streams.platform import ops_server, readiness
from streams.platform.settings import PlatformSettings


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    problems: list[str]


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


OPS_OPERATIONS = (
    Operation(
        "GET",
        "/metrics",
        "metrics",
        "Prometheus metrics (text exposition format)",
        "ops",
        (Answer(200, "the metrics", (Body(TEXT),)),),
    ),
    Operation(
        "GET",
        "/healthz",
        "healthz",
        "Liveness: the process serves HTTP",
        "ops",
        (Answer(200, "alive", (Body(JSON, Health),)),),
    ),
    Operation(
        "GET",
        "/readyz",
        "readyz",
        "Readiness: the broker and the database answer within the deadline",
        "ops",
        (
            Answer(200, "ready", (Body(JSON, Readiness),)),
            Answer(503, "not ready, with the reasons", (Body(JSON, Readiness),)),
        ),
    ),
)
