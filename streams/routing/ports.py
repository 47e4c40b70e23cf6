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


Remembered = list[tuple[str, float]]


@dataclass(frozen=True)
class PoolRows:
    """A pool as stored: its clock, rows, and the ids it remembers (id, pool time)."""

    pool_id: str
    clock: float
    contacts: list[Snapshot]
    agents: list[Snapshot]
    inputs: Remembered = field(default_factory=list)
    finished: Remembered = field(default_factory=list)
    estimator: Snapshot | None = None
    policy: Snapshot | None = None
    moved: Snapshot | None = None


@dataclass
class PoolChanges:
    """What one batch changed in one pool; a None snapshot means the row is gone. ``inputs``
    and ``finished`` are ids newly remembered (with their pool time); storage may forget
    those older than ``forget_inputs_before`` / ``forget_finished_before``. ``estimator`` is
    what the predicted wait remembers, ``predicted_waits`` its prediction per class and
    channel, ``serving`` who could serve each requirement with waiting contacts (``Router.
    serving``), ``policy`` the pool's own policy and ``moved`` where its moved contacts went
    (None keeps what is stored)."""

    pool_id: str
    clock: float
    contacts: dict[str, Snapshot | None] = field(default_factory=dict)
    agents: dict[str, Snapshot | None] = field(default_factory=dict)
    inputs: dict[str, float] = field(default_factory=dict)
    finished: dict[str, float] = field(default_factory=dict)
    forget_inputs_before: float = float("-inf")
    forget_finished_before: float = float("-inf")
    estimator: Snapshot | None = None
    predicted_waits: Snapshot | None = None
    policy: Snapshot | None = None
    moved: Snapshot | None = None
    serving: Snapshot | None = None


class BatchClaimLost(Exception):
    """Another owner stored the partition between the claim of a batch and its lock; the
    batch is simply tried again (transient)."""


class OffsetRegression(Exception):
    """Inputs at or below the partition's stored offset that routing never applied (their
    event ids are not among the pools' applied inputs): the log went backwards (a broker
    restarted empty, a topic recreated, a cluster restored), so these are new inputs, not
    replays. Routing neither applies nor skips them until an operator runs
    ``contactcenter routing-recover`` (docs/operations.md)."""

    def __init__(self, topic: str, partition: int, stored_offset: int, unseen: Sequence[int]):
        self.topic = topic
        self.partition = partition
        self.stored_offset = stored_offset
        self.first_unseen = min(unseen)
        self.unseen = len(unseen)
        super().__init__(
            f"{topic}[{partition}]: {self.unseen} input(s) from offset {self.first_unseen} at or"
            f" below the stored offset {stored_offset} were never applied: the log went"
            " backwards; routing of this partition waits for `contactcenter routing-recover`"
        )


class RoutingTransaction(Protocol):
    @property
    def stored_offset(self) -> int:
        """The last input offset whose effects are stored (-1 when none)."""

    @property
    def processed_at(self) -> float:
        """The processing time of the inputs after ``stored_offset``: claimed by the first
        attempt and committed before it published anything, so every replay reuses it."""

    async def load_pools(self) -> list[PoolRows]:
        """Every pool last stored from this partition."""

    async def save(self, changes: Sequence[PoolChanges], offset: int) -> None:
        """Store the changes and advance the partition's offset, atomically on commit."""

    async def applied_inputs(self, inputs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of ``inputs`` (pool id, event id) the pools remember as applied."""


class RoutingStore(Protocol):
    def partition(
        self, topic: str, partition: int, *, now: float, until: int, renew: bool = False
    ) -> AbstractAsyncContextManager[RoutingTransaction]:
        """A transaction that holds the partition's stored offset locked until it ends.

        Before it starts, the processing time of the inputs after the stored offset up to
        ``until`` (the batch's last offset) is claimed and committed: ``now``, unless an
        earlier claim still covers inputs after the stored offset (some outputs may be out
        with it, uncommitted: a crash, a failed commit), which is kept and extended to
        ``until`` unless ``renew`` says the attempt that claimed it published nothing. So a
        replay reuses the time whatever its batch boundaries. Raises ``BatchClaimLost`` if
        the offset moved between the claim and the lock."""


class OutputPublisher(Protocol):
    async def publish(self, records: Sequence[Outbound]) -> None:
        """Send and wait until the broker has every record."""
