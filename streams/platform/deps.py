"""What a worker's features share: settings, the PostgreSQL pool, topics, the dead-letter path."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Awaitable
from typing import Any

import asyncpg
import faust

from schemas.routing import DeadLettered
from schemas.topics import DEAD_LETTER, TopicSpec
from streams.platform.settings import WorkerSettings

log = logging.getLogger(__name__)

# What a dead letter keeps of its input; with JSON escaping of the reason (at most 12 bytes a
# character) and base64 (4/3), a dead letter stays below MAX_DEAD_LETTER_BYTES, well below the
# broker's and the producer's message size limits (about 1 MB by default).
DEAD_LETTER_PAYLOAD_BYTES = 64 * 1024
DEAD_LETTER_KEY_BYTES = 1024
DEAD_LETTER_REASON_CHARS = 2000
DEAD_LETTER_TOPIC_CHARS = 255
MAX_DEAD_LETTER_BYTES = 256 * 1024


class WorkerDeps:
    def __init__(self, settings: WorkerSettings, app: faust.App) -> None:
        self.settings = settings
        self.app = app
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._topics: dict[tuple[str, ...], Any] = {}

    async def db(self) -> asyncpg.Pool:
        """The process's asyncpg pool, created on first use in the worker's loop."""
        async with self._pool_lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self.settings.require_database_url(), min_size=1, max_size=12
                )
            return self._pool

    async def database_answers(self) -> bool:
        """Whether PostgreSQL answers a new connection's ``SELECT 1`` within the readiness
        deadline: the writers' reconnect probe after a failure."""
        from streams.platform.readiness import database_answers

        return await database_answers(
            self.settings.require_database_url(), self.settings.readiness_deadline_seconds
        )

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    def topic_name(self, spec: TopicSpec) -> str:
        return spec.full_name(self.settings.topic_prefix)

    def topic(self, *specs: TopicSpec) -> Any:
        """A faust topic of raw bytes (keys and values); decoding is ours, so that a bad
        payload reaches the dead-letter topic instead of crashing the stream."""
        names = tuple(self.topic_name(s) for s in specs)
        if names not in self._topics:
            self._topics[names] = self.app.topic(
                *names,
                key_type=bytes,
                value_type=bytes,
                key_serializer="raw",
                value_serializer="raw",
                partitions=specs[0].partitions if len(specs) == 1 else None,
            )
        return self._topics[names]

    async def send(
        self, spec: TopicSpec, key: bytes | None, value: bytes, partition: int | None = None
    ) -> Awaitable[Any]:
        """Hand raw bytes to the app's producer; await the result for the broker's answer.
        Faust's per-message envelope (``Topic.send``) is skipped: topics here are raw bytes
        with no codecs or callbacks, and the agents wait for their sends themselves."""
        return await self.app.producer.send(
            self.topic_name(spec), key, value, partition, None, None
        )

    async def dead_letter(
        self,
        reason: str,
        *,
        source_topic: str,
        payload: bytes | None,
        key: bytes | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        from streams.platform import metrics

        record = dead_letter_record(reason, source_topic, payload, key, partition, offset)
        log.warning("dead-lettered from %s@%s:%s: %s", source_topic, partition, offset, reason)
        await (await self.send(DEAD_LETTER, source_topic.encode(), record.to_bytes()))
        metrics.EVENTS_OUT.labels(topic=DEAD_LETTER.name).inc()
        metrics.DEAD_LETTERS.labels(
            source_topic=metrics.topic_label(source_topic, self.settings.topic_prefix),
            reason=metrics.dead_letter_reason(reason),
        ).inc()


def dead_letter_record(
    reason: str,
    source_topic: str,
    payload: bytes | None,
    key: bytes | None = None,
    partition: int | None = None,
    offset: int | None = None,
) -> DeadLettered:
    """The dead letter of one input. It always fits in a broker message: the reason, the key
    and the embedded payload are capped (``MAX_DEAD_LETTER_BYTES`` at most in all), while the
    size and the SHA-256 of the whole payload identify the original."""
    body = payload or b""
    return DeadLettered(
        reason=reason[:DEAD_LETTER_REASON_CHARS],
        source_topic=source_topic[:DEAD_LETTER_TOPIC_CHARS],
        source_partition=partition,
        source_offset=offset,
        key_b64=None if key is None else _b64(key[:DEAD_LETTER_KEY_BYTES]),
        key_truncated=key is not None and len(key) > DEAD_LETTER_KEY_BYTES,
        payload_b64=_b64(body[:DEAD_LETTER_PAYLOAD_BYTES]),
        payload_truncated=len(body) > DEAD_LETTER_PAYLOAD_BYTES,
        payload_size=len(body),
        payload_sha256=hashlib.sha256(body).hexdigest(),
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
