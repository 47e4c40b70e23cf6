"""The gateway process: the HTTP app (Twilio webhooks, chat, /metrics, /healthz), the SMTP
server, the chat delivery consumer and the sweep of chats left without "end", on one event
loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from aiohttp import web

from services.conversations import ConversationStore
from services.customers import CustomerDirectory
from services.edge.outbox import EdgeOutbox, run_resender
from services.gateway import chat, chat_tasks, sms, voice
from services.gateway.api_doc import add_gateway_document
from services.gateway.chat_hub import ChatHub
from services.gateway.chat_sessions import ChatSessions
from services.gateway.context import CONTEXT, GatewayContext
from services.gateway.email_in import start_smtp_server
from services.http_input import check_url
from services.http_ops import add_ops_routes
from services.publisher import BrokerPublisher, Publisher, PublishFailed
from services.runtime.processes import stop_on_signals
from services.twilio_client import signature_check
from streams.platform import metrics
from streams.platform.settings import GatewaySettings

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_OUTCOMES = {
    400: "malformed",
    401: "unauthorized",
    403: "bad_signature",
    413: "too_large",
    415: "malformed",
}


def _channel(path: str) -> str | None:
    for prefix, channel in (("/twilio/voice", "voice"), ("/twilio/sms", "sms"), ("/chat/", "chat")):
        if path.startswith(prefix):
            return channel
    return None


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map failures to answers: 503 while the broker is away (never a 2xx for an event not
    published), 500 for the unexpected; count every channel request by outcome."""
    channel = _channel(request.path)
    try:
        check_url(request)
        response = await handler(request)
        status = response.status
    except PublishFailed as exc:
        status = 503
        response = web.Response(status=503, text=str(exc), headers={"Retry-After": "5"})
    except web.HTTPException as exc:
        status = exc.status
        if channel is not None and status in _OUTCOMES:
            metrics.GATEWAY_REQUESTS.labels(channel=channel, outcome=_OUTCOMES[status]).inc()
        raise
    except Exception as exc:
        log.exception("gateway request %s failed", request.path)
        metrics.ERRORS.labels(component="gateway", kind=type(exc).__name__).inc()
        status = 500
        response = web.Response(status=500, text="internal error")
    if channel is not None and request.path != "/chat/ws":
        outcome = "accepted" if status < 400 else ("unavailable" if status == 503 else "error")
        metrics.GATEWAY_REQUESTS.labels(channel=channel, outcome=outcome).inc()
    return response


def create_app(ctx: GatewayContext) -> web.Application:
    app = web.Application(client_max_size=ctx.settings.gateway_max_body_bytes, middlewares=[guard])
    app[CONTEXT] = ctx
    voice.add_routes(app)
    sms.add_routes(app)
    chat.add_routes(app)
    add_ops_routes(app, ctx.settings)
    add_gateway_document(app)
    return app


@dataclass
class RunningGateway:
    ctx: GatewayContext
    http_port: int
    smtp_port: int


@asynccontextmanager
async def running_gateway(
    settings: GatewaySettings, publisher: Publisher | None = None, delivery_wait: float = 10.0
) -> AsyncIterator[RunningGateway]:
    """Everything the gateway runs, started in this event loop (the CLI and tests)."""
    signatures = signature_check(settings, "gateway")  # refuses to start without a token
    pool = await asyncpg.create_pool(settings.require_database_url(), min_size=1, max_size=10)
    own_publisher = publisher is None
    publisher = publisher or BrokerPublisher(
        settings.kafka_bootstrap_servers, settings.topic_prefix, settings.gateway_publish_timeout
    )
    ctx = GatewayContext(
        settings=settings,
        publisher=publisher,
        customers=CustomerDirectory(pool, settings.default_language),
        conversations=ConversationStore(pool),
        signatures=signatures,
        chat=ChatHub(),
        outbox=EdgeOutbox(pool, publisher),
        chat_sessions=ChatSessions(pool, settings),
    )
    runner = web.AppRunner(create_app(ctx), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.gateway_host, settings.gateway_port)
    await site.start()
    http_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    smtp = await start_smtp_server(ctx)
    smtp_port = smtp.sockets[0].getsockname()[1]
    ready, ends_ready, typing_ready = asyncio.Event(), asyncio.Event(), asyncio.Event()
    delivery = asyncio.create_task(chat_tasks.run_delivery(ctx, ready))
    agent_ends = asyncio.create_task(chat_tasks.run_agent_ends(ctx, ends_ready))
    typing = asyncio.create_task(chat_tasks.run_typing(ctx, typing_ready))
    sweep = asyncio.create_task(chat_tasks.run_left_chat_sweep(ctx))
    resender = asyncio.create_task(
        run_resender(
            ctx.outbox,
            resend_after_seconds=settings.edge_resend_after_seconds,
            keep_seconds=settings.edge_outbox_keep_days * 86_400,
        )
    )
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(
            asyncio.gather(ready.wait(), ends_ready.wait(), typing_ready.wait()), delivery_wait
        )
    try:
        yield RunningGateway(ctx, http_port, smtp_port)
    finally:
        for task in (delivery, agent_ends, typing, sweep, resender):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        smtp.close()
        await smtp.wait_closed()
        await runner.cleanup()
        if own_publisher and isinstance(publisher, BrokerPublisher):
            await publisher.close()
        await pool.close()


async def serve(settings: GatewaySettings) -> None:
    stop = stop_on_signals()
    async with running_gateway(settings) as gateway:
        log.warning(
            "gateway: http on %s:%s, smtp on %s:%s",
            settings.gateway_host,
            gateway.http_port,
            settings.smtp_host,
            gateway.smtp_port,
        )
        await stop.wait()
