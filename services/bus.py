"""Publishing and reading records with aiokafka, for the edge services, the demo and tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas.base import Record
from schemas.codec import InvalidMessage, decode
from schemas.topics import TopicSpec
from streams.platform.settings import PlatformSettings

log = logging.getLogger(__name__)


class Bus:
    """A started producer bound to a topic prefix."""

    def __init__(self, producer: AIOKafkaProducer, prefix: str = "") -> None:
        self.producer = producer
        self.prefix = prefix

    async def publish(self, topic: TopicSpec, key: str, record: Record) -> None:
        """Send and wait for the broker's acknowledgement."""
        await self.producer.send_and_wait(
            topic.full_name(self.prefix), key=key.encode(), value=record.to_bytes()
        )

    async def publish_raw(self, topic: TopicSpec, key: bytes | None, value: bytes) -> None:
        await self.producer.send_and_wait(topic.full_name(self.prefix), key=key, value=value)


@asynccontextmanager
async def open_bus(bootstrap_servers: str, prefix: str = "") -> AsyncIterator[Bus]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", linger_ms=0)
    await producer.start()
    try:
        yield Bus(producer, prefix)
    finally:
        await producer.stop()


class TopicReader:
    """Reads whole topics from the beginning without a consumer group."""

    def __init__(self, bootstrap_servers: str, prefix: str, topics: Iterable[TopicSpec]) -> None:
        self._consumer = AIOKafkaConsumer(
            *(t.full_name(prefix) for t in topics),
            bootstrap_servers=bootstrap_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )

    async def __aenter__(self) -> TopicReader:
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def read(self, timeout: float = 0.5) -> list[tuple[str, bytes | None, bytes]]:
        """What arrived within ``timeout``: (topic, key, value) in arrival order per partition."""
        batches = await self._consumer.getmany(timeout_ms=int(timeout * 1000))
        out: list[tuple[str, bytes | None, bytes]] = []
        for tp, messages in batches.items():
            out.extend((tp.topic, m.key, m.value) for m in messages if m.value is not None)
        return out

    async def records(self, timeout: float = 0.5) -> list[Record]:
        return [decode(value) for _topic, _key, value in await self.read(timeout)]


async def follow_topic(
    settings: PlatformSettings,
    topic: TopicSpec,
    handle: Callable[[Record], Awaitable[None]],
    *,
    component: str,
    ready: asyncio.Event | None = None,
) -> None:
    """Read a topic from its end without a consumer group (every process sees every record),
    hand each valid record to ``handle``, and reconnect after broker trouble; runs until
    cancelled. Undecodable records are skipped here: the worker dead-letters them. A fetch
    waits ``consumer_fetch_max_wait`` at most (the local broker answers only when it is over)."""
    from streams.platform import metrics

    while True:
        consumer = AIOKafkaConsumer(
            topic.full_name(settings.topic_prefix),
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=None,
            auto_offset_reset="latest",
            enable_auto_commit=False,
            fetch_max_wait_ms=int(settings.consumer_fetch_max_wait * 1000),
        )
        try:
            await consumer.start()
            if ready is not None:
                ready.set()
            async for message in consumer:
                metrics.EVENTS_IN.labels(topic=topic.name, consumer=component).inc()
                try:
                    record = decode(message.value)
                except InvalidMessage:
                    continue
                await handle(record)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            metrics.ERRORS.labels(component=component, kind=type(exc).__name__).inc()
            log.warning("%s consumer failed, restarting: %r", component, exc)
            await asyncio.sleep(1.0)
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()
