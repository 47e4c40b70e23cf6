"""Ports of the routing processor: where pool state is stored, where outputs go."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from schemas.topics import TopicSpec

Snapshot = dict[str, Any]


@dataclass(frozen=True)
class InputRecord:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class Outbound:
    topic: TopicSpec
    key: bytes | None
    value: bytes


@dataclass(frozen=True)
class PoolRows:
    pool_id: str
    clock: float
    contacts: list[Snapshot]
    agents: list[Snapshot]


@dataclass
class PoolChanges:
    """What one batch changed in one pool; a None snapshot means the row is gone."""

    pool_id: str
    clock: float
    contacts: dict[str, Snapshot | None] = field(default_factory=dict)
    agents: dict[str, Snapshot | None] = field(default_factory=dict)


class RoutingTransaction(Protocol):
    @property
    def stored_offset(self) -> int:
        """The last input offset whose effects are stored (-1 when none)."""

    async def load_pools(self) -> list[PoolRows]:
        """Every pool last stored from this partition."""

    async def save(self, changes: Sequence[PoolChanges], offset: int) -> None:
        """Store the changes and advance the partition's offset, atomically on commit."""


class RoutingStore(Protocol):
    def partition(
        self, topic: str, partition: int
    ) -> AbstractAsyncContextManager[RoutingTransaction]:
        """A transaction that holds the partition's stored offset locked until it ends."""


class Publisher(Protocol):
    async def publish(self, records: Sequence[Outbound]) -> None:
        """Send and wait until the broker has every record."""
