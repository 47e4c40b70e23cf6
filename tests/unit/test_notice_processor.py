"""The notices processor over the in-memory store: what one shipment event stores and puts
in the outbox, and that a redelivered event adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.codec import decode
from schemas.contacts import ContactArrived
from schemas.notices import NoticeRequested
from schemas.shipments import ShipmentCreated, ShipmentDelivered, ShipmentEtaUpdated
from streams.notices.policy import Customer, NoticePolicy
from streams.notices.processor import NoticeSettings, apply_shipment_event
from tests.support.notice_fakes import MemoryNoticeStore

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PROMISED = NOON + timedelta(days=2)
IDS = {"shipment_id": "s1", "order_id": "o1", "customer_id": "c1"}
SETTINGS = NoticeSettings(NoticePolicy(), topic_prefix="t.", default_pool_id="main")


def store_with(customer: Customer) -> MemoryNoticeStore:
    store = MemoryNoticeStore()
    store.tables.customers[customer.customer_id] = customer
    return store


async def outbox(store: MemoryNoticeStore) -> list[tuple[str, object]]:
    sent: list[tuple[str, object]] = []

    async def send(topic: str, key: bytes | None, payload: bytes) -> None:
        sent.append((topic, decode(payload)))

    await store.publish_pending(send)
    return sent


async def late(store: MemoryNoticeStore, hours: float, event_id: str = "eta-1") -> None:
    created = ShipmentCreated(**IDS, promised_delivery=PROMISED, occurred_at=NOON, event_id="c")
    eta = ShipmentEtaUpdated(
        **IDS, eta=PROMISED + timedelta(hours=hours), occurred_at=NOON, event_id=event_id
    )
    for event in (created, eta):
        await apply_shipment_event(store, event, SETTINGS, NOON)


async def test_a_delay_records_one_notice_flags_the_customer_and_requests_the_send() -> None:
    store = store_with(Customer("c1", phone="+15550001111"))
    await late(store, 30)
    ((notice, status, cause),) = store.tables.notices.values()
    assert (notice.channel, status, cause) == ("sms", "pending", "eta-1")
    assert list(await store.open_flags("c1")) == ["shipment_delay:s1"]
    ((topic, record),) = await outbox(store)
    assert topic == "t.notices" and isinstance(record, NoticeRequested)
    assert record.notice_id == notice.notice_id and record.cause_event_id == "eta-1"


async def test_a_redelivered_event_adds_nothing() -> None:
    store = store_with(Customer("c1", phone="+15550001111"))
    await late(store, 30)
    await outbox(store)
    await late(store, 30)  # the same events again, as after a crash before the commit
    assert len(store.tables.notices) == 1
    assert await outbox(store) == []


async def test_without_consent_the_notice_is_recorded_as_suppressed_and_not_sent() -> None:
    store = store_with(Customer("c1", phone="+1555", sms_consent=False, email_consent=False))
    await late(store, 30)
    ((notice, status, _cause),) = store.tables.notices.values()
    assert (notice.channel, status) == (None, "suppressed")
    assert await outbox(store) == []


async def test_a_vip_with_a_severe_delay_gets_a_call_routed_as_a_vip_contact() -> None:
    store = store_with(Customer("c1", tier="vip", phone="+15550001111"))
    await late(store, 72)
    calls = [r for topic, r in await outbox(store) if topic == "t.contacts"]
    (call,) = calls
    assert isinstance(call, ContactArrived)
    assert (call.customer_class, call.pool_id, call.channel.value) == ("vip", "main", "voice")


async def test_delivery_resolves_the_flag() -> None:
    store = store_with(Customer("c1", phone="+15550001111"))
    await late(store, 30)
    delivered = ShipmentDelivered(**IDS, delivered_at=NOON, occurred_at=NOON + timedelta(hours=1))
    await apply_shipment_event(store, delivered, SETTINGS, NOON)
    assert await store.open_flags("c1") == {}
