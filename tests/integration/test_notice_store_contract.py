"""The notice store contract, run against the in-memory fake and the real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import pytest

from schemas.notices import NoticeRequested
from services.runtime.postgres import create_database
from streams.notices.delays import EpisodeClosed, FlagCustomer, NoticeDecision, ShipmentState
from streams.notices.policy import Customer
from streams.notices.ports import NoticeStore
from streams.notices.store_pg import PostgresNoticeStore
from streams.platform.migrations import migrate
from tests.support.notice_fakes import MemoryNoticeStore

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@dataclass
class Backend:
    store: NoticeStore
    add_customer: Callable[[Customer], Awaitable[None]]


@pytest.fixture(params=["memory", "postgres"])
async def backend(
    request: pytest.FixtureRequest, postgres_server_url: str
) -> AsyncIterator[Backend]:
    if request.param == "memory":
        memory = MemoryNoticeStore()

        async def remember(customer: Customer) -> None:
            memory.tables.customers[customer.customer_id] = customer

        yield Backend(memory, remember)
        return
    url = await create_database(postgres_server_url)
    await migrate(url)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)

    async def insert(customer: Customer) -> None:
        await pool.execute(
            "INSERT INTO customers (customer_id, tier, name, phone, email, time_zone,"
            " preferred_channel, sms_consent, email_consent)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            customer.customer_id,
            customer.tier,
            customer.name,
            customer.phone,
            customer.email,
            customer.time_zone,
            customer.preferred_channel,
            customer.sms_consent,
            customer.email_consent,
        )

    try:
        yield Backend(PostgresNoticeStore(pool), insert)
    finally:
        await pool.close()


def notice(notice_id: str = "delay:s1:1:1:sms") -> NoticeDecision:
    return NoticeDecision(
        notice_id=notice_id,
        reference="N0123456789",
        channel="sms",
        customer_id="c1",
        shipment_id="s1",
        order_id="o1",
        episode=1,
        level=1,
        delay_hours=30.0,
        reason="eta_late",
        compensation=None,
        subject="Your order is late",
        body_text="Sorry: it arrives a day late.",
        not_before=NOW,
        deferred=False,
    )


def requested(event_id: str) -> NoticeRequested:
    return NoticeRequested(
        event_id=event_id,
        notice_id=event_id,
        customer_id="c1",
        channel="sms",
        shipment_id="s1",
        order_id="o1",
        episode=1,
        level=1,
        reason="eta_late",
        subject="late",
        body_text="late",
        not_before=NOW,
        cause_event_id="cause",
        occurred_at=NOW,
    )


async def test_state_and_customer_load_back(backend: Backend) -> None:
    await backend.add_customer(Customer("c1", tier="vip", phone="+15550001111"))
    state = ShipmentState("s1", order_id="o1", customer_id="c1", episode=2, open=True)
    async with backend.store.shipment("s1") as tx:
        assert await tx.state() is None
        assert await tx.customer("nobody") is None
        await tx.save_state(state, NOW)
    async with backend.store.shipment("s1") as tx:
        assert await tx.state() == state
        customer = await tx.customer("c1")
        assert customer is not None and (customer.tier, customer.phone) == ("vip", "+15550001111")


async def test_a_notice_is_recorded_once_per_idempotency_key(backend: Backend) -> None:
    async with backend.store.shipment("s1") as tx:
        assert await tx.add_notice(notice(), cause_event_id="e1", status="pending")
        assert not await tx.add_notice(notice(), cause_event_id="e1", status="pending")
    async with backend.store.shipment("s1") as tx:
        assert not await tx.add_notice(notice(), cause_event_id="e2", status="pending")
        assert await tx.add_notice(
            notice("delay:s1:1:2:sms"), cause_event_id="e2", status="pending"
        )


async def test_flags_open_and_resolve(backend: Backend) -> None:
    async with backend.store.shipment("s1") as tx:
        await tx.flag_customer(FlagCustomer("c1", "s1", 1, "Order o1 is late", None), NOW)
    assert await backend.store.open_flags("c1") == {"shipment_delay:s1": "Order o1 is late"}
    async with backend.store.shipment("s1") as tx:
        await tx.resolve_flag(EpisodeClosed("c1", "s1", 1, "delivered"), NOW)
    assert await backend.store.open_flags("c1") == {}


async def test_a_failed_transaction_stores_nothing(backend: Backend) -> None:
    with pytest.raises(RuntimeError):
        async with backend.store.shipment("s1") as tx:
            await tx.save_state(ShipmentState("s1", customer_id="c1"), NOW)
            await tx.add_notice(notice(), cause_event_id="e1", status="pending")
            await tx.publish_later("notices", "c1", requested("r1"))
            raise RuntimeError("crash before commit")
    async with backend.store.shipment("s1") as tx:
        assert await tx.state() is None
        assert await tx.add_notice(notice(), cause_event_id="e1", status="pending")
    sent: list[bytes] = []

    async def send(topic: str, key: bytes | None, payload: bytes) -> None:
        sent.append(payload)

    assert await backend.store.publish_pending(send) == 0


async def test_the_outbox_publishes_in_order_once_and_again_after_a_failed_send(
    backend: Backend,
) -> None:
    async with backend.store.shipment("s1") as tx:
        for event_id in ("r1", "r2", "r1"):
            await tx.publish_later("notices", "c1", requested(event_id))
    attempts: list[str] = []

    async def failing(topic: str, key: bytes | None, payload: bytes) -> None:
        attempts.append(topic)
        raise ConnectionError("broker away")

    with pytest.raises(ConnectionError):
        await backend.store.publish_pending(failing)
    sent: list[tuple[str, bytes | None, bytes]] = []

    async def send(topic: str, key: bytes | None, payload: bytes) -> None:
        sent.append((topic, key, payload))

    assert await backend.store.publish_pending(send) == 2
    assert [(t, k) for t, k, _ in sent] == [("notices", b"c1"), ("notices", b"c1")]
    assert [p for _, _, p in sent] == [requested("r1").to_bytes(), requested("r2").to_bytes()]
    assert await backend.store.publish_pending(send) == 0
