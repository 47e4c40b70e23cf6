"""Publishing from the edge services (gateway, desk), where the broker may be away.

An HTTP handler publishes, waits for the broker's acknowledgement, and only then answers 2xx;
when the broker cannot be reached :class:`PublishFailed` becomes a 503 (Twilio retries).
The producer is started lazily and rebuilt after a failure, so a service starts and answers
while the broker is down.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from aiokafka import AIOKafkaProducer

from schemas.base import Record
from schemas.topics import TopicSpec
from streams.platform import metrics

log = logging.getLogger(__name__)


class PublishFailed(Exception):
    """The record was not acknowledged by the broker."""


class Publisher(Protocol):
    async def publish(self, topic: TopicSpec, key: str, record: Record) -> None: ...

    async def publish_encoded(
        self, topic: TopicSpec, key: str, value: bytes, record_type: str
    ) -> None: ...


class BrokerPublisher:
    def __init__(self, bootstrap_servers: str, prefix: str = "", timeout: float = 5.0) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.prefix = prefix
        self.timeout = timeout
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap_servers,
                    acks="all",
                    linger_ms=0,
                    request_timeout_ms=int(self.timeout * 1000),
                )
                try:
                    await asyncio.wait_for(producer.start(), self.timeout)
                except BaseException:
                    await _quietly_stop(producer)
                    raise
                self._producer = producer
            return self._producer

    async def publish(self, topic: TopicSpec, key: str, record: Record) -> None:
        await self.publish_encoded(topic, key, record.to_bytes(), record.TYPE)

    async def publish_encoded(
        self, topic: TopicSpec, key: str, value: bytes, record_type: str
    ) -> None:
        """Publish a record already encoded (the edge outbox keeps the bytes it staged)."""
        try:
            producer = await self._started()
            await asyncio.wait_for(
                producer.send_and_wait(topic.full_name(self.prefix), key=key.encode(), value=value),
                self.timeout,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            metrics.ERRORS.labels(component="publisher", kind=type(exc).__name__).inc()
            log.warning("publishing %s to %s failed: %r", record_type, topic.name, exc)
            await self._reset()
            raise PublishFailed(f"broker unavailable: {type(exc).__name__}") from exc
        metrics.EVENTS_OUT.labels(topic=topic.name).inc()

    async def _reset(self) -> None:
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            await _quietly_stop(producer)

    async def close(self) -> None:
        await self._reset()


async def _quietly_stop(producer: AIOKafkaProducer) -> None:
    try:
        await asyncio.wait_for(producer.stop(), 5.0)
    except Exception:
        log.debug("producer stop failed", exc_info=True)
