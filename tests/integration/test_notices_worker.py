"""Shipment events through the real broker, a real worker and a real notifier process; the
notifier's outcomes on the notices topic; a notifier SIGKILLed in the middle of a send."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from schemas.base import Record
from schemas.contacts import ContactArrived
from schemas.notices import NoticeDeferred, NoticeFailed, NoticeRecord, NoticeRequested, NoticeSent
from schemas.shipments import ShipmentCreated, ShipmentEtaUpdated
from schemas.topics import CONTACTS, NOTICES, SHIPMENTS
from services.bus import TopicReader, open_bus
from services.notifier.main import build_notifier
from services.runtime.broker import free_port
from services.runtime.processes import kill, start_command, stop
from streams.notices.config import notice_policy
from streams.notices.processor import NoticeSettings, apply_shipment_event
from streams.notices.store_pg import PostgresNoticeStore
from streams.platform.settings import Settings
from tests.support.twilio_api import TwilioApiServer, notifier_settings
from tests.support.workers import eventually, running_worker

pytestmark = pytest.mark.integration


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioApiServer]:
    async with TwilioApiServer() as server:
        yield server


async def test_vip_delay_on_the_broker_sends_one_sms_flags_and_routes_a_call(
    settings: Settings, twilio: TwilioApiServer, tmp_path: Path
) -> None:
    settings = notifier_settings(settings, twilio)
    pool = await asyncpg.create_pool(settings.require_database_url(), min_size=1, max_size=2)
    await pool.execute(
        "INSERT INTO customers (customer_id, tier, phone, email) "
        "VALUES ('v1', 'vip', '+15550002222', 'v@example.com')"
    )
    now = datetime.now(UTC)
    promised = now + timedelta(days=1)
    ids = {"shipment_id": "s9", "order_id": "o9", "customer_id": "v1", "pool_id": "p1"}
    events = [
        ShipmentCreated(**ids, promised_delivery=promised, occurred_at=now),
        ShipmentEtaUpdated(**ids, eta=promised + timedelta(hours=60), occurred_at=now),
    ]
    notifier_port = free_port()
    notifier = start_command(
        "notifier",
        settings,
        tmp_path / "notifier.log",
        notifier_metrics_port=free_port(),
        notifier_port=notifier_port,
        notifier_public_url=f"http://127.0.0.1:{notifier_port}",
    )
    try:
        with running_worker(settings, tmp_path / "worker.log"):
            async with open_bus(settings.kafka_bootstrap_servers, settings.topic_prefix) as bus:
                for _ in range(2):  # delivered twice
                    for event in events:
                        await bus.publish(SHIPMENTS, event.shipment_id, event)

                async def sent() -> bool:
                    status = await pool.fetchval("SELECT status FROM notices")
                    return status == "sent"

                await eventually(sent, 60, "the notice to be sent")
            async with TopicReader(
                settings.kafka_bootstrap_servers, settings.topic_prefix, [CONTACTS]
            ) as reader:
                found: list[ContactArrived] = []

                async def call_task() -> bool:
                    found.extend(
                        r for r in await reader.records(0.3) if isinstance(r, ContactArrived)
                    )
                    return bool(found)

                await eventually(call_task, 20, "the outbound call task")
    finally:
        stop(notifier)
    [task] = found
    assert task.customer_class == "vip" and task.channel == "voice"
    assert task.skills == {"outbound": 1} and task.pool_id == "p1" and "o9" in (task.subject or "")
    assert len(twilio.created_messages()) == 1
    assert "20% off" in twilio.created_messages()[0]["Body"]
    flags = await pool.fetch("SELECT text FROM customer_flags WHERE customer_id = 'v1'")
    assert len(flags) == 1 and "20% off" in flags[0]["text"]
    attempts = await pool.fetch("SELECT outcome FROM notice_attempts")
    assert [a["outcome"] for a in attempts] == ["sent"]
    await pool.close()


async def delayed_shipment(
    pool: asyncpg.Pool, settings: Settings, customer: str, shipment: str
) -> None:
    """A shipment 30 h late: one notice decided for ``customer``, due now."""
    now = datetime.now(UTC)
    promised = now + timedelta(days=1)
    ids = {"shipment_id": shipment, "order_id": f"o-{shipment}", "customer_id": customer}
    store = PostgresNoticeStore(pool)
    notice_settings = NoticeSettings(notice_policy(settings), settings.topic_prefix)
    for event in (
        ShipmentCreated(**ids, promised_delivery=promised, occurred_at=now),
        ShipmentEtaUpdated(**ids, eta=promised + timedelta(hours=30), occurred_at=now),
    ):
        await apply_shipment_event(store, event, notice_settings, now)


async def read_notices(settings: Settings, expected: int) -> list[Record]:
    """Everything on the notices topic once ``expected`` records arrived (and nothing after)."""
    found: list[Record] = []
    async with TopicReader(
        settings.kafka_bootstrap_servers, settings.topic_prefix, [NOTICES]
    ) as reader:

        async def arrived() -> bool:
            found.extend(await reader.records(0.3))
            return len(found) >= expected

        await eventually(arrived, 20, f"{expected} records on the notices topic")
        found.extend(await reader.records(1.0))
    return found


async def test_outcomes_reach_the_notices_topic_once_each(
    settings: Settings, twilio: TwilioApiServer
) -> None:
    settings = notifier_settings(settings, twilio)
    pool = await asyncpg.create_pool(settings.require_database_url(), min_size=1, max_size=4)
    await pool.execute(
        "INSERT INTO customers (customer_id, phone) VALUES ('c1', '+15550001111'),"
        " ('c2', '+15550002222')"
    )
    twilio.invalid.add("+15550002222")
    for n in range(4):  # the fourth is over the rate limit of 3
        await delayed_shipment(pool, settings, "c1", f"s{n}")
    await delayed_shipment(pool, settings, "c2", "s9")
    # a notifier that dies after its commits, before publishing: the outcomes wait in the outbox
    silent, silent_sms = build_notifier(settings, pool)
    assert await silent.run_once() == 5
    await silent_sms.close()
    statuses = Counter(r["status"] for r in await pool.fetch("SELECT status FROM notices"))
    assert statuses == {"sent": 3, "deferred": 1, "failed": 1}
    async with open_bus(settings.kafka_bootstrap_servers) as bus:

        async def publish(topic: str, key: bytes | None, payload: bytes) -> None:
            await bus.producer.send_and_wait(topic, key=key, value=payload)

        restarted, sms = build_notifier(settings, pool, publish)
        await restarted.run_once()
        await restarted.run_once()  # nothing new: nothing published again
        assert await restarted.publish_outcomes() == 0
        await sms.close()
    records = await read_notices(settings, 10)
    kinds = Counter(type(r).__name__ for r in records)
    assert kinds == {"NoticeRequested": 5, "NoticeSent": 3, "NoticeDeferred": 1, "NoticeFailed": 1}
    assert len({r.event_id for r in records}) == len(records)
    sent = [r for r in records if isinstance(r, NoticeSent)]
    notices = await pool.fetch("SELECT notice_id, provider_id FROM notices WHERE status = 'sent'")
    assert {(r.notice_id, r.provider_id) for r in sent} == {tuple(n) for n in notices}
    assert all(r.event_id == f"{r.notice_id}:sent" and r.attempts == 1 for r in sent)
    [deferred] = [r for r in records if isinstance(r, NoticeDeferred)]
    assert deferred.customer_id == "c1" and deferred.reason == "rate limit"
    [failed] = [r for r in records if isinstance(r, NoticeFailed)]
    assert (failed.customer_id, failed.error_code) == ("c2", "21211")
    for record in records:  # per customer (the key) a notice is requested before its outcome
        assert isinstance(record, NoticeRecord)
    order = [(type(r), r.notice_id) for r in records if isinstance(r, NoticeRecord)]
    for kind, notice_id in order:
        if kind is not NoticeRequested:
            assert order.index((NoticeRequested, notice_id)) < order.index((kind, notice_id))
    unpublished = await pool.fetchval(
        "SELECT count(*) FROM notice_outbox WHERE published_at IS NULL"
    )
    assert unpublished == 0
    await pool.close()


async def test_notifier_sigkilled_mid_send_is_reconciled_after_restart(
    settings: Settings, twilio: TwilioApiServer, tmp_path: Path
) -> None:
    settings = notifier_settings(settings, twilio, notifier_send_lease_seconds=2.0)
    pool = await asyncpg.create_pool(settings.require_database_url(), min_size=1, max_size=2)
    await pool.execute("INSERT INTO customers (customer_id, phone) VALUES ('c1', '+15550001111')")
    await delayed_shipment(pool, settings, "c1", "s1")
    twilio.delay_next_response(60)  # Twilio takes the message, the answer does not come back

    def notifier(name: str) -> subprocess.Popen[bytes]:
        port = free_port()
        return start_command(
            "notifier",
            settings,
            tmp_path / f"{name}.log",
            notifier_metrics_port=free_port(),
            notifier_port=port,
            notifier_public_url=f"http://127.0.0.1:{port}",
        )

    async def row() -> asyncpg.Record:
        found = await pool.fetchrow("SELECT status, provider_id, attempts FROM notices")
        assert found is not None
        return found

    first = notifier("first")
    try:

        async def accepted() -> bool:
            return len(twilio.messages) == 1

        await eventually(accepted, 30, "Twilio to accept the message", interval=0.05)
    finally:
        kill(first)  # SIGKILL while the send is in flight
    assert first.returncode == -signal.SIGKILL
    assert tuple(await row()) == ("sending", None, 1)
    outcomes = await pool.fetch("SELECT outcome FROM notice_attempts")
    assert [a["outcome"] for a in outcomes] == ["started"]

    second = notifier("second")
    try:

        async def recorded() -> bool:
            return (await row())["status"] == "sent"

        await eventually(recorded, 30, "the restarted notifier to record the send")
        [sid] = twilio.messages

        async def published() -> bool:
            return bool(
                await pool.fetchval(
                    "SELECT published_at IS NOT NULL FROM notice_outbox WHERE event_id = $1",
                    "delay:s1:1:1:sms:sent",
                )
            )

        await eventually(published, 10, "NoticeSent to be published")
    finally:
        stop(second)
    assert tuple(await row()) == ("sent", sid, 1)
    assert len(twilio.created_messages()) == 1
    outcomes = await pool.fetch("SELECT outcome, provider_id FROM notice_attempts")
    assert [tuple(a) for a in outcomes] == [("reconciled", sid)]
    await pool.close()
