"""Faust adapter of the interaction log: batches of the consumed topics into the writer;
the service-level and lag gauges on timers."""

from __future__ import annotations

import logging
from typing import Any

import faust

from schemas.topics import AGENT_EVENTS, CONTACTS, DEAD_LETTER, INTERACTIONS
from streams.interaction_log.gauges import refresh_service_level, update_consumer_lag
from streams.interaction_log.ports import InteractionLogStore
from streams.interaction_log.projection import LogEntry
from streams.interaction_log.store_pg import PostgresInteractionLog
from streams.interaction_log.writer import WRITER, decode_entry, observe, write_with_retry
from streams.platform import metrics
from streams.platform.deps import WorkerDeps

SERVICE_LEVEL_REFRESH_SECONDS = 5.0
LIVE_REFRESH_SECONDS = 2.0


log = logging.getLogger(__name__)


def install(app: faust.App, deps: WorkerDeps) -> None:
    settings = deps.settings
    prefix = settings.topic_prefix
    topic = deps.topic(CONTACTS, AGENT_EVENTS, INTERACTIONS, DEAD_LETTER)
    batch_size = settings.log_batch_size
    batch_within = settings.log_batch_within
    store: InteractionLogStore | None = None

    async def write(entries: list[LogEntry]) -> None:
        nonlocal store
        if store is None:
            store = PostgresInteractionLog(await deps.db())  # the pool is made on first use
        observe(
            await write_with_retry(
                store.write,
                entries,
                reconnect=deps.database_answers,
                probe_interval=settings.reconnect_probe_interval_seconds,
            )
        )

    @app.agent(topic, name="interaction-log")
    async def interaction_log(stream: Any) -> None:
        async for events in stream.take_events(batch_size, within=batch_within):
            entries: list[LogEntry] = []
            for event in events:
                message = event.message
                metrics.EVENTS_IN.labels(
                    topic=metrics.topic_label(message.topic, prefix), consumer="interaction-log"
                ).inc()
                entry = decode_entry(
                    event.value, message.topic, message.partition, message.offset, prefix
                )
                if entry is not None:
                    entries.append(entry)
            if entries:
                await write(entries)
            # leaving the loop body acknowledges the batch: the commit follows PostgreSQL's

    @app.timer(interval=SERVICE_LEVEL_REFRESH_SECONDS)  # type: ignore[untyped-decorator]
    async def service_level() -> None:
        try:
            await refresh_service_level(await deps.db())
        except Exception as exc:
            log.warning("service-level refresh failed: %s", exc)
            metrics.ERRORS.labels(component=WRITER, kind="service_level_refresh").inc()

    @app.timer(interval=LIVE_REFRESH_SECONDS)  # type: ignore[untyped-decorator]
    async def consumer_lag() -> None:
        try:
            update_consumer_lag(app.consumer, prefix)
        except Exception as exc:
            log.debug("consumer lag not available: %s", exc)
