"""In-memory routing store and publisher: the same contract as the PostgreSQL store and the
faust publisher, for fast tests of the routing processor."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from streams.routing_ports import Outbound, PoolChanges, PoolRows, RoutingTransaction, Snapshot


@dataclass
class _Tables:
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    pools: dict[str, tuple[str, int, float]] = field(default_factory=dict)
    contacts: dict[str, dict[str, Snapshot]] = field(default_factory=dict)
    agents: dict[str, dict[str, Snapshot]] = field(default_factory=dict)


class _MemoryTransaction:
    def __init__(self, tables: _Tables, topic: str, partition: int) -> None:
        self._tables = tables
        self._topic = topic
        self._partition = partition

    @property
    def stored_offset(self) -> int:
        return self._tables.offsets.get((self._topic, self._partition), -1)

    async def load_pools(self) -> list[PoolRows]:
        t = self._tables
        return [
            PoolRows(
                pool_id,
                clock,
                [copy.deepcopy(r) for _k, r in sorted(t.contacts.get(pool_id, {}).items())],
                [copy.deepcopy(r) for _k, r in sorted(t.agents.get(pool_id, {}).items())],
            )
            for pool_id, (topic, partition, clock) in sorted(t.pools.items())
            if (topic, partition) == (self._topic, self._partition)
        ]

    async def save(self, changes: Sequence[PoolChanges], offset: int) -> None:
        t = self._tables
        for change in changes:
            t.pools[change.pool_id] = (self._topic, self._partition, change.clock)
            for table, rows in ((t.contacts, change.contacts), (t.agents, change.agents)):
                pool_rows = table.setdefault(change.pool_id, {})
                for key, row in rows.items():
                    if row is None:
                        pool_rows.pop(key, None)
                    else:
                        pool_rows[key] = copy.deepcopy(row)
        key = (self._topic, self._partition)
        t.offsets[key] = max(t.offsets.get(key, -1), offset)


class MemoryRoutingStore:
    """Commits on a clean exit of the transaction, discards on an exception."""

    def __init__(self) -> None:
        self.tables = _Tables()

    @asynccontextmanager
    async def partition(self, topic: str, partition: int) -> AsyncIterator[RoutingTransaction]:
        working = copy.deepcopy(self.tables)
        yield _MemoryTransaction(working, topic, partition)
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
