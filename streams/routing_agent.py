"""Faust adapters of routing: repartition inputs by pool, route per batch, tick the clock."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import faust

from schemas.codec import AGENT_INPUTS, CONTACT_INPUTS, InvalidMessage, decode
from schemas.routing import AdvanceRoutingClock
from schemas.topics import AGENT_EVENTS, CONTACTS, DEAD_LETTER, ROUTING
from streams import domain
from streams.adapters.routing_store import PostgresRoutingStore
from streams.deps import WorkerDeps
from streams.platform import metrics
from streams.routing_metrics import RoutingGauges
from streams.routing_ports import InputRecord, Outbound
from streams.routing_processor import RoutingProcessor
from streams.routing_translate import ROUTED_TYPES

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 5.0  # routing resumes within seconds once PostgreSQL is back


def pool_config(deps: WorkerDeps) -> domain.PoolConfig:
    s = deps.settings
    return domain.PoolConfig(
        class_weights=dict(s.class_weights),
        aging_per_second=s.aging_per_second,
        capacity={domain.Channel(k): v for k, v in s.channel_capacity.items()},
        exclusive_channels=frozenset(domain.Channel(c) for c in s.exclusive_channels),
        offer_timeout_seconds=s.offer_timeout_seconds,
        max_missed_offers=s.max_missed_offers,
        last_agent_window_seconds=s.last_agent_window_seconds,
        input_memory_seconds=s.routing_input_memory_seconds,
        finished_memory_seconds=s.routing_finished_memory_seconds,
    )


class FaustPublisher:
    def __init__(self, deps: WorkerDeps) -> None:
        self._deps = deps

    async def publish(self, records: Sequence[Outbound]) -> None:
        pending = [await self._deps.topic(r.topic).send(key=r.key, value=r.value) for r in records]
        for future in pending:
            await future
        for r in records:
            metrics.EVENTS_OUT.labels(topic=r.topic.name).inc()
            if r.topic is DEAD_LETTER:
                reason = metrics.dead_letter_reason(json.loads(r.value).get("reason", ""))
                metrics.DEAD_LETTERS.labels(source_topic=ROUTING.name, reason=reason).inc()


def install(app: faust.App, deps: WorkerDeps) -> None:
    routing_topic = deps.topic(ROUTING)
    routing_name = deps.topic_name(ROUTING)
    inputs = deps.topic(CONTACTS, AGENT_EVENTS)
    processor: RoutingProcessor | None = None
    gauges = RoutingGauges()

    async def get_processor() -> RoutingProcessor:
        nonlocal processor
        if processor is None:
            processor = RoutingProcessor(
                PostgresRoutingStore(await deps.db()),
                FaustPublisher(deps),
                topic=routing_name,
                config=pool_config(deps),
            )
        return processor

    @app.agent(inputs, name="partition-by-pool")
    async def partition_by_pool(stream: Any) -> None:
        """Validate contact and agent events and re-key them by pool id; only routing inputs
        travel on (messages in a conversation are for the log, not for routing)."""
        async for event in stream.events():
            message = event.message
            metrics.EVENTS_IN.labels(
                topic=metrics.topic_label(message.topic, deps.settings.topic_prefix),
                consumer="partition-by-pool",
            ).inc()
            try:
                record = decode(event.value, accept=CONTACT_INPUTS | AGENT_INPUTS)
            except InvalidMessage as exc:
                await deps.dead_letter(
                    exc.reason,
                    source_topic=message.topic,
                    payload=event.value,
                    key=event.key,
                    partition=message.partition,
                    offset=message.offset,
                )
                continue
            if record.TYPE in ROUTED_TYPES:
                pool_id = getattr(record, "pool_id", "")
                await routing_topic.send(key=pool_id.encode(), value=event.value)
                metrics.EVENTS_OUT.labels(topic=ROUTING.name).inc()

    @app.agent(routing_topic, name="route")
    async def route(stream: Any) -> None:
        settings = deps.settings
        async for events in stream.take_events(
            settings.routing_batch_size, within=settings.routing_batch_within
        ):
            metrics.EVENTS_IN.labels(topic=ROUTING.name, consumer="route").inc(len(events))
            by_partition: dict[int, list[InputRecord]] = defaultdict(list)
            for event in events:
                message = event.message
                by_partition[message.partition].append(
                    InputRecord(message.partition, message.offset, event.key, event.value)
                )
            routing = await get_processor()
            for partition in sorted(by_partition):
                await _process_with_retry(routing, partition, by_partition[partition])
                gauges.update(partition, routing.routers(partition))

    @app.timer(interval=deps.settings.tick_interval)  # type: ignore[untyped-decorator]
    async def advance_clock() -> None:
        """Every worker ticks the routing partitions it holds; a tick replayed or sent by a
        worker that just lost the partition is harmless (time only moves forward)."""
        for tp in sorted(app.consumer.assignment()):
            if tp.topic != routing_name:
                continue
            command = AdvanceRoutingClock(partition=tp.partition)
            await routing_topic.send(value=command.to_bytes(), partition=tp.partition)
            metrics.EVENTS_OUT.labels(topic=ROUTING.name).inc()

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def _on_revoked(_app: Any, revoked: set[Any], **_kwargs: Any) -> None:
        """Stop relying on what this process holds of partitions it lost; the stored offset
        check fences it anyway should a late batch still arrive."""
        for tp in revoked:
            if tp.topic == routing_name:
                gauges.forget(tp.partition)
                if processor is not None:
                    processor.forget(tp.partition)


async def _process_with_retry(
    processor: RoutingProcessor, partition: int, records: list[InputRecord]
) -> None:
    """Transient failures (PostgreSQL or the broker away) retry the same batch with backoff;
    the batch is not acknowledged meanwhile, so nothing is lost."""
    attempt = 0
    while True:
        started = asyncio.get_running_loop().time()
        try:
            await processor.process(partition, records)
            metrics.DB_WRITE_DURATION.labels(writer="routing").observe(
                asyncio.get_running_loop().time() - started
            )
            metrics.DB_WRITE_BATCH_SIZE.labels(writer="routing").observe(len(records))
            metrics.DB_UP.labels(writer="routing").set(1)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            attempt += 1
            delay = min(MAX_BACKOFF_SECONDS, 0.2 * 2**attempt) * random.uniform(0.5, 1.0)
            log.exception(
                "routing partition %s failed (attempt %d); retrying in %.1f s",
                partition,
                attempt,
                delay,
            )
            metrics.DB_WRITE_FAILURES.labels(writer="routing").inc()
            metrics.DB_UP.labels(writer="routing").set(0)
            await asyncio.sleep(delay)
