"""Shipment events through the real broker, a real worker and a real notifier process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from schemas.contacts import ContactArrived
from schemas.shipments import ShipmentCreated, ShipmentEtaUpdated
from schemas.topics import CONTACTS, SHIPMENTS
from services.bus import TopicReader, open_bus
from services.runtime.broker import free_port
from services.runtime.processes import start_command, stop
from services.settings import Settings
from tests.support.twilio_api import TwilioApiServer
from tests.support.workers import eventually, running_worker

pytestmark = pytest.mark.integration


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioApiServer]:
    async with TwilioApiServer() as server:
        yield server


async def test_vip_delay_on_the_broker_sends_one_sms_flags_and_routes_a_call(
    settings: Settings, twilio: TwilioApiServer, tmp_path: Path
) -> None:
    settings = settings.model_copy(
        update={
            "twilio_api_base_url": twilio.base_url,
            "twilio_account_sid": twilio.account_sid,
            "twilio_auth_token": twilio.auth_token,
            "twilio_from_number": "+15550009999",
            "notice_quiet_hours": "",
            "notifier_poll_interval": 0.2,
        }
    )
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
