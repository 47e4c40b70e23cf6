"""The desk process: build the desk with real adapters, serve it, stop it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import web

from schemas.routing import OfferMade
from services.admin.service import AdminService
from services.admin.store_pg import PostgresAdminStore
from services.conversations import ConversationStore
from services.customers import CustomerDirectory
from services.desk.channels import ChannelActions
from services.desk.desk import Desk
from services.desk.guides import GuideDesk
from services.desk.handlers import create_app
from services.desk.hub import OfferHub, run_offers
from services.desk.screen_pop import build_screen_pop
from services.desk.threads import ThreadFeed, run_threads
from services.desk.transfers import transfer_note
from services.desk.typing_signals import TypingFeed, run_typing
from services.publisher import BrokerPublisher
from services.runtime.processes import stop_on_signals
from streams.guides.definitions import load_guides
from streams.guides.store_pg import PgGuideStore
from streams.platform import metrics
from streams.platform.settings import DeskSettings

log = logging.getLogger(__name__)


@dataclass
class RunningDesk:
    desk: Desk
    port: int


@asynccontextmanager
async def running_desk(
    settings: DeskSettings, offers_wait: float = 10.0
) -> AsyncIterator[RunningDesk]:
    guide_files = load_guides()  # a broken guide file stops the start, naming file and step
    pool = await asyncpg.create_pool(settings.require_database_url(), min_size=1, max_size=10)
    publisher = BrokerPublisher(
        settings.kafka_bootstrap_servers, settings.topic_prefix, settings.gateway_publish_timeout
    )
    conversations = ConversationStore(pool)
    customers = CustomerDirectory(pool, settings.default_language)
    guides = GuideDesk(guide_files, PgGuideStore(pool), pool, publisher, conversations, customers)

    async def screen_pop(offer: OfferMade) -> dict[str, Any]:
        pop = await build_screen_pop(conversations, customers, offer)
        pop["transfer"] = await transfer_note(pool, offer.contact_id)
        try:
            pop["guide"] = await guides.for_offer(offer.contact_id, offer.agent_id, offer.pool_id)
        except Exception as exc:  # the offer still pops; the panel reloads the guide later
            log.warning("guide of %s unavailable: %r", offer.contact_id, exc)
            metrics.ERRORS.labels(component="desk_guides", kind=type(exc).__name__).inc()
            pop["guide"] = {"status": "unavailable"}
        return pop

    hub = OfferHub(screen_pop)
    actions = ChannelActions(settings, conversations, customers, publisher)
    admin = AdminService(PostgresAdminStore(pool), publisher)
    desk = Desk(settings, pool, publisher, hub, conversations, actions, guides=guides, admin=admin)
    ready, threads_ready, typing_ready = asyncio.Event(), asyncio.Event(), asyncio.Event()
    consumers = [
        asyncio.create_task(run_offers(settings, hub, ready)),
        asyncio.create_task(run_threads(settings, ThreadFeed(hub, desk.owner), threads_ready)),
        asyncio.create_task(run_typing(settings, TypingFeed(hub, desk.owner), typing_ready)),
    ]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(
            asyncio.gather(ready.wait(), threads_ready.wait(), typing_ready.wait()), offers_wait
        )
    runner = web.AppRunner(create_app(desk), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, settings.desk_host, settings.desk_port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield RunningDesk(desk, port)
    finally:
        await runner.cleanup()
        for consumer in consumers:
            consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer
        await actions.close()
        await publisher.close()
        await pool.close()


async def serve(settings: DeskSettings) -> None:
    stop = stop_on_signals()
    async with running_desk(settings) as running:
        log.warning("desk on http://%s:%s/", settings.desk_host, running.port)
        await stop.wait()
