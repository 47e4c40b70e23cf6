"""Faust adapters of routing: repartition inputs by pool, route per batch, tick the clock."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import faust

from schemas.codec import AGENT_INPUTS, CONTACT_INPUTS
from schemas.routing import AdvanceRoutingClock
from schemas.topics import AGENT_EVENTS, CONTACTS, DEAD_LETTER, ROUTING
from streams.platform import metrics
from streams.platform.deps import WorkerDeps
from streams.platform.retry import retry_transient
from streams.platform.settings import WorkerSettings
from streams.platform.steps import decode_or_dead_letter
from streams.routing import domain
from streams.routing.domain.relaxation import RelaxStep
from streams.routing.metrics import RoutingGauges
from streams.routing.ports import InputRecord, OffsetRegression, Outbound
from streams.routing.processor import RoutingProcessor
from streams.routing.store_pg import PostgresRoutingStore, record_regression
from streams.routing.translate import ROUTED_TYPES

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 5.0  # failures other than PostgreSQL away (which is probed for)
INPUT_TYPES = CONTACT_INPUTS | AGENT_INPUTS


def pool_config(s: WorkerSettings) -> domain.PoolConfig:
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
        default_handle_seconds=s.default_handle_seconds,
        cross_channel_hold={domain.Channel(k): v for k, v in s.cross_channel_hold.items()},
        handle_prior_seconds={domain.Channel(k): v for k, v in s.handle_prior_seconds.items()},
        relaxation={
            pool: tuple(RelaxStep.parse(step) for step in steps)
            for pool, steps in s.relaxation_steps.items()
        },
    )


class FaustPublisher:
    def __init__(self, deps: WorkerDeps) -> None:
        self._deps = deps

    async def publish(self, records: Sequence[Outbound]) -> None:
        """Send every record, then wait for the broker to have them all."""
        send = self._deps.send
        await asyncio.gather(*[await send(r.topic, r.key, r.value) for r in records])
        for name, count in Counter(r.topic.name for r in records).items():
            metrics.EVENTS_OUT.labels(topic=name).inc(count)
        for r in records:
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
                config=pool_config(deps.settings),
            )
        return processor

    @app.agent(inputs, name="partition-by-pool")
    async def partition_by_pool(stream: Any) -> None:
        """Validate contact and agent events and re-key them by pool id; only routing inputs
        travel on (messages in a conversation are for the log, not for routing). Per batch,
        every send is awaited before the batch is acknowledged."""
        settings = deps.settings
        prefix = settings.topic_prefix
        async for events in stream.take_events(
            settings.routing_batch_size, within=settings.routing_batch_within
        ):
            pending = []
            seen: Counter[str] = Counter()
            for event in events:
                message = event.message
                seen[message.topic] += 1
                record = await decode_or_dead_letter(event, INPUT_TYPES, deps)
                if record is None:
                    continue
                if record.TYPE in ROUTED_TYPES:
                    pool_id = getattr(record, "pool_id", "")
                    pending.append(await deps.send(ROUTING, pool_id.encode(), event.value))
            await asyncio.gather(*pending)
            metrics.EVENTS_OUT.labels(topic=ROUTING.name).inc(len(pending))
            for topic, count in seen.items():
                metrics.EVENTS_IN.labels(
                    topic=metrics.topic_label(topic, prefix), consumer="partition-by-pool"
                ).inc(count)

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
            # partitions are independent (one owner, own offsets and rows): their round trips
            # to PostgreSQL and the broker overlap; each keeps its own order
            await asyncio.gather(
                *(
                    _process_with_retry(routing, partition, records, deps)
                    for partition, records in sorted(by_partition.items())
                )
            )
            for partition in sorted(by_partition):
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
                with contextlib.suppress(KeyError):  # its new owner reports it now
                    metrics.ROUTING_OFFSET_REGRESSION.remove(str(tp.partition))
                if processor is not None:
                    processor.forget(tp.partition)


async def _process_with_retry(
    processor: RoutingProcessor, partition: int, records: list[InputRecord], deps: WorkerDeps
) -> None:
    """Failures retry the same batch with backoff, the batch unacknowledged meanwhile, so
    nothing is lost. Every failure is retried, not only the transient ones: a routing batch
    cannot be skipped without losing the pool's state, and replaying it is harmless."""
    loop = asyncio.get_running_loop()
    regression = metrics.ROUTING_OFFSET_REGRESSION

    async def attempt() -> None:
        reported = False
        while True:
            started = loop.time()
            try:
                await processor.process(partition, records)
            except OffsetRegression as found:
                # not a failure to retry: the database is fine, and only an operator's
                # recovery lets the partition go on; the batch is neither applied nor skipped
                regression.labels(partition=str(partition)).set(1)
                await record_regression(await deps.db(), found)
                if not reported:
                    log.error("%s", found)
                    reported = True
                await asyncio.sleep(deps.settings.routing_regression_recheck_seconds)
                continue
            metrics.DB_WRITE_DURATION.labels(writer="routing").observe(loop.time() - started)
            regression.labels(partition=str(partition)).set(0)
            return

    await retry_transient(
        attempt,
        writer="routing",
        what=f"partition {partition}",
        base=0.4,
        cap=MAX_BACKOFF_SECONDS,
        retry_on=(Exception,),
        reconnect=deps.database_answers,
        probe_interval=deps.settings.reconnect_probe_interval_seconds,
    )
    metrics.DB_WRITE_BATCH_SIZE.labels(writer="routing").observe(len(records))
