"""In-memory routing store and publisher: the same contract as the PostgreSQL store and the
faust publisher, for fast tests of the routing processor."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from streams.routing.ports import (
    BatchClaimLost,
    Outbound,
    PoolChanges,
    PoolRows,
    RoutingTransaction,
    Snapshot,
)


@dataclass
class _Tables:
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    pools: dict[str, tuple[str, int, float]] = field(default_factory=dict)
    estimators: dict[str, Snapshot] = field(default_factory=dict)
    predicted_waits: dict[str, Snapshot] = field(default_factory=dict)
    policies: dict[str, Snapshot] = field(default_factory=dict)
    moved: dict[str, Snapshot] = field(default_factory=dict)
    serving: dict[str, Snapshot] = field(default_factory=dict)
    contacts: dict[str, dict[str, Snapshot]] = field(default_factory=dict)
    agents: dict[str, dict[str, Snapshot]] = field(default_factory=dict)
    memory: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    claims: dict[tuple[str, int], tuple[int, float]] = field(default_factory=dict)  # until, time


class _MemoryTransaction:
    def __init__(self, tables: _Tables, topic: str, partition: int, processed_at: float) -> None:
        self._tables = tables
        self._topic = topic
        self._partition = partition
        self._processed_at = processed_at

    @property
    def stored_offset(self) -> int:
        return self._tables.offsets.get((self._topic, self._partition), -1)

    @property
    def processed_at(self) -> float:
        return self._processed_at

    async def load_pools(self) -> list[PoolRows]:
        t = self._tables
        return [
            PoolRows(
                pool_id,
                clock,
                [copy.deepcopy(r) for _k, r in sorted(t.contacts.get(pool_id, {}).items())],
                [copy.deepcopy(r) for _k, r in sorted(t.agents.get(pool_id, {}).items())],
                _oldest_first(t.memory.get((pool_id, "input"), {})),
                _oldest_first(t.memory.get((pool_id, "finished"), {})),
                copy.deepcopy(t.estimators.get(pool_id)),
                copy.deepcopy(t.policies.get(pool_id)),
                copy.deepcopy(t.moved.get(pool_id)),
            )
            for pool_id, (topic, partition, clock) in sorted(t.pools.items())
            if (topic, partition) == (self._topic, self._partition)
        ]

    async def save(self, changes: Sequence[PoolChanges], offset: int) -> None:
        t = self._tables
        for change in changes:
            t.pools[change.pool_id] = (self._topic, self._partition, change.clock)
            for stored, snapshot in (
                (t.estimators, change.estimator),
                (t.predicted_waits, change.predicted_waits),
                (t.policies, change.policy),
                (t.moved, change.moved),
                (t.serving, change.serving),
            ):
                if snapshot is not None:
                    stored[change.pool_id] = copy.deepcopy(snapshot)
            for table, rows in ((t.contacts, change.contacts), (t.agents, change.agents)):
                pool_rows = table.setdefault(change.pool_id, {})
                for key, row in rows.items():
                    if row is None:
                        pool_rows.pop(key, None)
                    else:
                        pool_rows[key] = copy.deepcopy(row)
            for kind, items, before in (
                ("input", change.inputs, change.forget_inputs_before),
                ("finished", change.finished, change.forget_finished_before),
            ):
                remembered = t.memory.setdefault((change.pool_id, kind), {})
                for item_id, at in items.items():
                    remembered.setdefault(item_id, at)
                for item_id in [i for i, at in remembered.items() if at < before]:
                    del remembered[item_id]
        partition = (self._topic, self._partition)
        t.offsets[partition] = max(t.offsets.get(partition, -1), offset)

    async def applied_inputs(self, inputs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        memory = self._tables.memory
        return {(pool, item) for pool, item in inputs if item in memory.get((pool, "input"), {})}


def _oldest_first(items: dict[str, float]) -> list[tuple[str, float]]:
    return sorted(items.items(), key=lambda item: (item[1], item[0]))


class MemoryRoutingStore:
    """Commits on a clean exit of the transaction, discards on an exception; the batch's
    processing time is claimed (committed) before the transaction, as in PostgreSQL.
    ``before_lock`` lets a test act between the claim and the lock (another owner)."""

    def __init__(self) -> None:
        self.tables = _Tables()
        self.before_lock: Callable[[], None] | None = None
        self.fail_next_commit = 0

    @asynccontextmanager
    async def partition(
        self, topic: str, partition: int, *, now: float, until: int, renew: bool = False
    ) -> AsyncIterator[RoutingTransaction]:
        key = (topic, partition)
        offset = self.tables.offsets.get(key, -1)
        claimed_until, claimed = self.tables.claims.get(key, (-1, None))
        if claimed is not None and claimed_until > offset and not renew:
            until = max(until, claimed_until)
        else:
            claimed = now
        self.tables.claims[key] = (until, claimed)
        if self.before_lock is not None:
            self.before_lock()
        working = copy.deepcopy(self.tables)
        transaction = _MemoryTransaction(working, topic, partition, claimed)
        if transaction.stored_offset != offset:
            raise BatchClaimLost(f"{topic}[{partition}] moved since the batch was claimed")
        yield transaction
        if self.fail_next_commit:
            self.fail_next_commit -= 1
            raise ConnectionError("connection lost during commit")
        self.tables = working


class MemoryPublisher:
    def __init__(self) -> None:
        self.sent: list[Outbound] = []
        self.fail_next = 0

    async def publish(self, records: Sequence[Outbound]) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("broker unavailable")
        self.sent.extend(records)
