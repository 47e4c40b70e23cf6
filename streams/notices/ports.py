"""Ports of the notices processor: where shipment state, notices, customer flags and the
outbox are stored. One transaction per shipment event."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from schemas.base import Record
from streams.notices.delays import EpisodeClosed, FlagCustomer, NoticeDecision, ShipmentState
from streams.notices.outbox import Send
from streams.notices.policy import Customer


class ShipmentTransaction(Protocol):
    """Everything one shipment event changes, committed together when the context exits
    cleanly (nothing of it when it raises). The shipment's state is locked meanwhile."""

    async def state(self) -> ShipmentState | None:
        """The shipment's stored state (None for a shipment never seen)."""

    async def customer(self, customer_id: str) -> Customer | None:
        """The customer's contact details and consent, if known."""

    async def save_state(self, state: ShipmentState, now: datetime) -> None: ...

    async def add_notice(self, notice: NoticeDecision, *, cause_event_id: str, status: str) -> bool:
        """Record a notice unless its idempotency key exists; True if it is new."""

    async def flag_customer(self, flag: FlagCustomer, now: datetime) -> None:
        """Attach (or refresh) the shipment-delay flag the next agent's screen pop shows."""

    async def resolve_flag(self, closed: EpisodeClosed, now: datetime) -> None: ...

    async def publish_later(self, topic: str, key: str, record: Record) -> None:
        """Put a record in the outbox, published after the commit (kept once per event id)."""


class NoticeStore(Protocol):
    def shipment(self, shipment_id: str) -> AbstractAsyncContextManager[ShipmentTransaction]:
        """A transaction over one shipment's state and what it decides."""

    async def publish_pending(self, send: Send) -> int:
        """Publish the outbox's unpublished records in order; how many went out. A failed
        send leaves them all unpublished, to go out again (their event ids are fixed)."""

    async def open_flags(self, customer_id: str) -> dict[str, str]:
        """The customer's unresolved flags (flag id → text), as the screen pop shows them."""
