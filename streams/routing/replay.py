"""Replay: routing's decisions reproduced from what the system recorded.

Routing's inputs, clock ticks included, are the routing topic in partition order; which of them
each committed batch applied, and with which processing time, is ``routing_batches``. Replay
feeds the same inputs in the same batches with the same times to the routing processor itself
(the same code, with its state held in memory and its outputs collected), and compares the
outputs with the decisions the interaction log recorded, by event id."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from schemas.base import Record
from schemas.codec import decode
from schemas.topics import INTERACTIONS
from streams.routing import domain
from streams.routing.ports import InputRecord, Outbound, PoolChanges, PoolRows, RoutingTransaction
from streams.routing.processor import RoutingProcessor


@dataclass(frozen=True)
class RecordedBatch:
    """The inputs after ``after_offset`` up to ``last_offset``, applied at ``processed_at``."""

    after_offset: int
    last_offset: int
    processed_at: float


class _HeldTransaction:
    def __init__(self, store: _HeldState, processed_at: float) -> None:
        self._store = store
        self._processed_at = processed_at

    @property
    def stored_offset(self) -> int:
        return self._store.offset

    @property
    def processed_at(self) -> float:
        return self._processed_at

    async def load_pools(self) -> list[PoolRows]:
        return []  # the processor keeps every pool it routed; nothing is stored elsewhere

    async def save(self, changes: Sequence[PoolChanges], offset: int) -> None:
        self._store.offset = offset

    async def applied_inputs(self, inputs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        # replay feeds each recorded batch from after its stored offset: nothing it reads is
        # at or below it, so this is never asked
        return set(inputs)


@dataclass
class _HeldState:
    """A routing store for one run of the processor: only the offset is kept (the routers
    themselves stay in the processor), and every batch is processed at the time it claims."""

    offset: int = -1

    @asynccontextmanager
    async def partition(
        self, topic: str, partition: int, *, now: float, until: int, renew: bool = False
    ) -> AsyncIterator[RoutingTransaction]:
        yield _HeldTransaction(self, now)


@dataclass
class _Collected:
    sent: list[Outbound] = field(default_factory=list)

    async def publish(self, records: Sequence[Outbound]) -> None:
        self.sent.extend(records)


class UnrecordedInputs(Exception):
    """Inputs are missing from what was read, or read inputs fall in no recorded batch."""


async def replay_partition(
    config: domain.PoolConfig,
    topic: str,
    partition: int,
    batches: Sequence[RecordedBatch],
    inputs: Iterable[InputRecord],
) -> list[Record]:
    """The routing outputs (on ``interactions``) of the recorded batches, in order."""
    by_offset = {record.offset: record for record in inputs}
    times = iter(batch.processed_at for batch in batches)
    collected = _Collected()
    processor = RoutingProcessor(
        _HeldState(), collected, topic=topic, config=config, clock=lambda: next(times)
    )
    for batch in batches:
        records = [
            by_offset[offset]
            for offset in range(batch.after_offset + 1, batch.last_offset + 1)
            if offset in by_offset
        ]
        if not records:
            raise UnrecordedInputs(
                f"{topic}[{partition}]: no input read for the batch after offset"
                f" {batch.after_offset} up to {batch.last_offset}"
            )
        await processor.process(partition, records)
    return [decode(o.value) for o in collected.sent if o.topic is INTERACTIONS]


@dataclass(frozen=True)
class Difference:
    """One decision that differs: recorded only, replayed only, or both but not the same."""

    event_id: str
    recorded: Record | None
    replayed: Record | None

    def describe(self) -> str:
        if self.replayed is None:
            return f"recorded, not replayed: {_summary(self.recorded)}"
        if self.recorded is None:
            return f"replayed, not recorded: {_summary(self.replayed)}"
        recorded, replayed = self.recorded.model_dump(), self.replayed.model_dump()
        fields = sorted(
            k for k in recorded.keys() | replayed.keys() if recorded.get(k) != replayed.get(k)
        )
        changes = "; ".join(f"{k}: {recorded.get(k)!r} → {replayed.get(k)!r}" for k in fields)
        return f"{self.event_id} differs: {changes}"


def _summary(record: Record | None) -> str:
    return "" if record is None else f"{record.event_id} {record.TYPE} at {record.occurred_at}"


def compare(
    recorded: Mapping[str, Record],
    replayed: Iterable[Record],
    *,
    pool_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Difference]:
    """Differences between the pool's recorded and replayed decisions that occurred in
    ``[start, end)`` (all when not given), in the replay's order, then those recorded only."""

    def within(record: Record) -> bool:
        return (
            getattr(record, "pool_id", None) == pool_id
            and (start is None or record.occurred_at >= start)
            and (end is None or record.occurred_at < end)
        )

    differences: list[Difference] = []
    seen: dict[str, Record] = {}
    for record in replayed:
        if not within(record):
            continue
        first = seen.setdefault(record.event_id, record)
        if first is not record:  # one id, two decisions: the second is the odd one
            if first != record:
                differences.append(Difference(record.event_id, first, record))
            continue
        original = recorded.get(record.event_id)
        if original != record:
            differences.append(Difference(record.event_id, original, record))
    for event_id, original in sorted(recorded.items(), key=lambda item: item[1].occurred_at):
        if event_id not in seen and within(original):
            differences.append(Difference(event_id, original, None))
    return differences


def recorded_record(payload: str) -> Record:
    """A routing output as the interaction log stores it (its JSON, ``type`` first)."""
    return decode(json.dumps(json.loads(payload)).encode())
