"""An in-memory notice store: the same contract as the PostgreSQL one, for fast tests of the
notices processor."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from schemas.base import Record
from streams.notices.delays import EpisodeClosed, FlagCustomer, NoticeDecision, ShipmentState
from streams.notices.outbox import Send
from streams.notices.policy import Customer
from streams.notices.store_pg import flag_id


@dataclass
class _Tables:
    states: dict[str, ShipmentState] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    notices: dict[str, tuple[NoticeDecision, str, str]] = field(default_factory=dict)
    flags: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict)
    outbox: dict[str, tuple[str, bytes, bytes]] = field(default_factory=dict)
    published: set[str] = field(default_factory=set)


class _MemoryShipmentTransaction:
    def __init__(self, tables: _Tables, shipment_id: str) -> None:
        self._tables = tables
        self._shipment_id = shipment_id

    async def state(self) -> ShipmentState | None:
        return self._tables.states.get(self._shipment_id)

    async def customer(self, customer_id: str) -> Customer | None:
        return self._tables.customers.get(customer_id)

    async def save_state(self, state: ShipmentState, now: datetime) -> None:
        self._tables.states[state.shipment_id] = state

    async def add_notice(self, notice: NoticeDecision, *, cause_event_id: str, status: str) -> bool:
        if notice.notice_id in self._tables.notices:
            return False
        self._tables.notices[notice.notice_id] = (notice, status, cause_event_id)
        return True

    async def flag_customer(self, flag: FlagCustomer, now: datetime) -> None:
        self._tables.flags[(flag.customer_id, flag_id(flag.shipment_id))] = (flag.text, True)

    async def resolve_flag(self, closed: EpisodeClosed, now: datetime) -> None:
        key = (closed.customer_id, flag_id(closed.shipment_id))
        if key in self._tables.flags:
            self._tables.flags[key] = (self._tables.flags[key][0], False)

    async def publish_later(self, topic: str, key: str, record: Record) -> None:
        self._tables.outbox.setdefault(record.event_id, (topic, key.encode(), record.to_bytes()))


class MemoryNoticeStore:
    """Commits on a clean exit of the transaction, discards on an exception."""

    def __init__(self) -> None:
        self.tables = _Tables()

    @asynccontextmanager
    async def shipment(self, shipment_id: str) -> AsyncIterator[_MemoryShipmentTransaction]:
        working = copy.deepcopy(self.tables)
        yield _MemoryShipmentTransaction(working, shipment_id)
        self.tables = working

    async def publish_pending(self, send: Send) -> int:
        pending = [(i, r) for i, r in self.tables.outbox.items() if i not in self.tables.published]
        for _event_id, (topic, key, payload) in pending:
            await send(topic, key, payload)
        self.tables.published.update(i for i, _ in pending)
        return len(pending)

    async def open_flags(self, customer_id: str) -> dict[str, str]:
        return {
            flag: text
            for (customer, flag), (text, is_open) in sorted(self.tables.flags.items())
            if customer == customer_id and is_open
        }
