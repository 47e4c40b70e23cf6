"""What the interaction log needs of its storage: the contract the PostgreSQL adapter
(:mod:`streams.interaction_log.store_pg`) and the in-memory fake of the tests both keep
(tests/integration/test_log_store_contract.py runs the one suite against both)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from streams.interaction_log.projection import LogEntry


@dataclass
class WriteResult:
    written: list[LogEntry] = field(default_factory=list)  # newly stored, in batch order
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # contact → (class, chan)


@dataclass(frozen=True)
class ContactLifecycle:
    """A contact as the log knows it: what its records said, merged in any order."""

    contact_id: str
    pool_id: str
    channel: str | None
    customer_class: str | None
    customer_key: str | None
    arrived_at: datetime | None
    first_offered_at: datetime | None
    answered_at: datetime | None
    agent_id: str | None
    completed_at: datetime | None
    abandoned_at: datetime | None
    ended_at: datetime | None
    removed_reason: str | None
    wait_seconds: float | None
    handle_seconds: float | None
    disposition: str | None
    offers: int
    rejections: int
    expirations: int
    requeues: int
    callback_requested: bool


class InteractionLogStore(Protocol):
    async def write(self, entries: Sequence[LogEntry]) -> WriteResult:
        """Store, in one transaction, the entries whose event id is not stored yet (the first
        copy of an id is kept, later ones write nothing) and project them onto their contacts'
        lifecycle, in any order. Returns the newly stored entries in batch order, and the
        (class, channel) of every contact answered, removed or released by them."""
        ...

    async def contact(self, contact_id: str) -> ContactLifecycle | None: ...
