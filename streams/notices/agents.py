"""Faust adapter of notices: shipment events in, the notice processor per event, the outbox
published after each commit. Transient PostgreSQL or broker failures retry the same event;
an undecodable one is dead-lettered."""

from __future__ import annotations

from functools import partial
from typing import Any

import faust

from schemas.base import utc_now
from schemas.shipments import ShipmentEvent
from schemas.topics import CONTACTS, NOTICES, SHIPMENTS
from streams.notices.config import notice_policy
from streams.notices.delays import Decision, NoticeDecision
from streams.notices.processor import (
    SHIPMENT_TYPES,
    NoticeSettings,
    apply_shipment_event,
    notice_status,
)
from streams.notices.store_pg import PostgresNoticeStore
from streams.platform import metrics
from streams.platform.deps import WorkerDeps
from streams.platform.retry import retry_transient
from streams.platform.steps import decode_or_dead_letter

WRITER = "notices"


def count_notices(decisions: list[Decision]) -> None:
    for decision in decisions:
        if isinstance(decision, NoticeDecision):
            outcome = {"pending": "queued"}.get(notice_status(decision), notice_status(decision))
            metrics.NOTICES.labels(channel=decision.channel or "none", outcome=outcome).inc()


def install(app: faust.App, deps: WorkerDeps) -> None:
    settings = deps.settings
    notice_settings = NoticeSettings(
        notice_policy(settings), settings.topic_prefix, settings.notice_pool_id
    )
    topics_by_name = {deps.topic_name(spec): deps.topic(spec) for spec in (CONTACTS, NOTICES)}

    async def send(topic: str, key: bytes | None, payload: bytes) -> None:
        await (await topics_by_name[topic].send(key=key, value=payload))
        metrics.EVENTS_OUT.labels(topic=metrics.topic_label(topic, settings.topic_prefix)).inc()

    @app.agent(deps.topic(SHIPMENTS), name=f"{settings.app_id}-notices")
    async def notices_agent(stream: Any) -> None:
        async def store() -> PostgresNoticeStore:
            return PostgresNoticeStore(await deps.db())  # the pool is made once, on first use

        async def apply(record: ShipmentEvent) -> list[Decision]:
            return await apply_shipment_event(await store(), record, notice_settings, utc_now())

        async def publish_pending() -> int:
            return await (await store()).publish_pending(send)

        async for event in stream.events():
            metrics.EVENTS_IN.labels(topic=SHIPMENTS.name, consumer="notices").inc()
            record = await decode_or_dead_letter(event, SHIPMENT_TYPES, deps)
            if record is None:
                continue
            assert isinstance(record, ShipmentEvent)
            decisions = await retry_transient(
                partial(apply, record),
                writer=WRITER,
                what="shipment event",
                reconnect=deps.database_answers,
                probe_interval=settings.reconnect_probe_interval_seconds,
            )
            count_notices(decisions)
            await retry_transient(
                publish_pending,
                writer=WRITER,
                what="outbox publish",
                reconnect=deps.database_answers,
                probe_interval=settings.reconnect_probe_interval_seconds,
            )
