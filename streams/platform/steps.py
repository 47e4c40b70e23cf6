"""Processing steps every agent composes: decode a consumed record or dead-letter it with the
reason (``InvalidMessage`` never stops a stream); transient failures retry in
``streams.platform.retry``; acknowledging is faust's, after the agent's loop body, so an
offset is committed only once the effect of its record is stored."""

from __future__ import annotations

from typing import Any, Protocol

from schemas.base import Record
from schemas.codec import InvalidMessage, decode


class DeadLetterSink(Protocol):
    async def dead_letter(
        self,
        reason: str,
        *,
        source_topic: str,
        payload: bytes | None,
        key: bytes | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None: ...


async def decode_or_dead_letter(
    event: Any, accept: frozenset[str], sink: DeadLetterSink
) -> Record | None:
    """The record a faust event carries, or None once it went to the dead-letter topic."""
    try:
        return decode(event.value, accept)
    except InvalidMessage as exc:
        message = event.message
        await sink.dead_letter(
            exc.reason,
            source_topic=message.topic,
            payload=event.value,
            key=event.key,
            partition=message.partition,
            offset=message.offset,
        )
        return None
