"""Shipment-delay notices against real parts: PostgreSQL, an SMTP server (aiosmtpd) and the
Twilio-shaped HTTP server driven through the official SDK."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from schemas.shipments import ShipmentCreated, ShipmentDelivered, ShipmentEtaUpdated
from services.notifier.callbacks import callback_app
from services.notifier.config import NotifierConfig
from services.notifier.senders import SmtpConfig, SmtpEmail, TwilioSms
from services.notifier.service import Notifier
from services.twilio_client import make_async_twilio_client, signature_check
from streams.notices.config import notice_policy
from streams.notices.processor import NoticeSettings, apply_shipment_event
from streams.notices.store_pg import PostgresNoticeStore
from streams.platform.settings import Settings
from tests.support.twilio_api import TwilioApiServer, sign, twilio_api  # noqa: F401

pytestmark = pytest.mark.integration

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # 12:00 UTC, daytime in UTC and in Europe
PROMISED = NOON + timedelta(days=2)
IDS = {"order_id": "o1", "customer_id": "c1"}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.reply: str | None = None  # e.g. "451 try later" for the next DATA
        self.hang = 0.0  # seconds to keep the next answer back, the message already taken

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply:
            reply, self.reply = self.reply, None
            return reply
        self.messages.append(message_from_bytes(envelope.content))
        if self.hang:
            hang, self.hang = self.hang, 0.0
            await asyncio.sleep(hang)
        return "250 OK"


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


class Harness:
    def __init__(self, pool: asyncpg.Pool, twilio: TwilioApiServer, smtp_port: int) -> None:
        self.pool = pool
        self.twilio = twilio
        self.clock = Clock(NOON)
        self.settings = Settings(
            twilio_api_base_url=twilio.base_url,
            twilio_account_sid=twilio.account_sid,
            twilio_auth_token=twilio.auth_token,
            twilio_from_number="+15550009999",
            notifier_public_url="http://notifier.test",
        )
        self.policy = notice_policy(self.settings)
        self.smtp_port = smtp_port
        self.sms: list[TwilioSms] = []

    def notifier(self, sms: Any = None, email: Any = None, **config: Any) -> Notifier:
        real = TwilioSms(make_async_twilio_client(self.settings), "+15550009999")
        self.sms.append(real)
        return Notifier(
            self.pool,
            sms or real,
            email or SmtpEmail(SmtpConfig("127.0.0.1", self.smtp_port, timeout=5)),
            self.policy,
            NotifierConfig(
                public_url="http://notifier.test", send_lease=timedelta(seconds=30), **config
            ),
            clock=self.clock,
            rand=lambda: 0.5,
        )

    async def close(self) -> None:
        for sms in self.sms:
            await sms.close()

    async def customer(self, **values: Any) -> None:
        row = {
            "customer_id": "c1",
            "name": "Alice",
            "phone": "+15550001111",
            "email": "alice@example.com",
            "tier": "standard",
            **values,
        }
        names = ", ".join(row)
        marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
        await self.pool.execute(f"INSERT INTO customers ({names}) VALUES ({marks})", *row.values())

    async def ship(self, *events: Any) -> None:
        store = PostgresNoticeStore(self.pool)
        for event in events:
            await apply_shipment_event(store, event, NoticeSettings(self.policy), self.clock())

    async def notices(self) -> list[dict[str, Any]]:
        rows = await self.pool.fetch("SELECT * FROM notices ORDER BY created_at, notice_id")
        return [dict(r) for r in rows]

    async def attempts(self) -> list[str]:
        rows = await self.pool.fetch("SELECT outcome FROM notice_attempts ORDER BY attempt_id")
        return [r["outcome"] for r in rows]


@pytest.fixture
async def h(
    pool: asyncpg.Pool,
    twilio_api: TwilioApiServer,  # noqa: F811
    smtp: tuple[Inbox, int],
) -> AsyncIterator[Harness]:
    harness = Harness(pool, twilio_api, smtp[1])
    yield harness
    await harness.close()


def created(shipment: str = "s1") -> ShipmentCreated:
    return ShipmentCreated(
        shipment_id=shipment, **IDS, promised_delivery=PROMISED, occurred_at=NOON
    )


def late(hours: float, minute: int = 1, shipment: str = "s1") -> ShipmentEtaUpdated:
    return ShipmentEtaUpdated(
        shipment_id=shipment,
        **IDS,
        eta=PROMISED + timedelta(hours=hours),
        occurred_at=NOON + timedelta(minutes=minute),
    )


async def test_delay_sends_one_sms_and_flags_the_customer(h: Harness) -> None:
    await h.customer()
    await h.ship(created(), late(30))
    assert await h.notifier().run_once() == 1
    [sms] = h.twilio.created_messages()
    assert sms["To"] == "+15550001111" and "o1" in sms["Body"] and "5% off" in sms["Body"]
    assert sms["StatusCallback"] == "http://notifier.test/twilio/sms-status?notice=delay:s1:1:1:sms"
    [notice] = await h.notices()
    assert notice["status"] == "sent" and notice["provider_id"] in h.twilio.messages
    assert notice["attempts"] == 1 and await h.attempts() == ["sent"]
    flag = await h.pool.fetchrow("SELECT * FROM customer_flags WHERE customer_id = 'c1'")
    assert flag is not None and "5% off" in flag["text"] and flag["resolved_at"] is None
    await h.ship(
        ShipmentDelivered(
            shipment_id="s1", **IDS, delivered_at=PROMISED, occurred_at=NOON + timedelta(hours=50)
        )
    )
    flag = await h.pool.fetchrow("SELECT * FROM customer_flags WHERE customer_id = 'c1'")
    assert flag is not None and flag["resolved_at"] is not None


async def test_redelivered_events_send_one_message(h: Harness) -> None:
    await h.customer()
    events = [created(), late(30)]
    await h.ship(*events, *events)
    notifier = h.notifier()
    await notifier.run_once()
    await h.ship(*events)
    await notifier.run_once()
    await h.notifier().run_once()  # a second notifier finds nothing to do
    assert len(h.twilio.created_messages()) == 1
    assert len(await h.notices()) == 1


class Killed(BaseException):
    """The process dies: nothing after this point runs."""


class DiesAfterSending:
    def __init__(self, real: TwilioSms) -> None:
        self.real = real

    async def send(self, to: str, body: str, status_callback: str | None) -> str:
        await self.real.send(to, body, status_callback)
        raise Killed

    async def find(self, to: str, reference: str, since: datetime) -> str | None:
        return await self.real.find(to, reference, since)


async def test_killed_between_send_and_record_sends_no_second_message(h: Harness) -> None:
    await h.customer()
    await h.ship(created(), late(30))
    first = h.notifier()
    with pytest.raises(Killed):
        await h.notifier(sms=DiesAfterSending(first.sms)).run_once()  # type: ignore[arg-type]
    [notice] = await h.notices()
    assert notice["status"] == "sending"
    restarted = h.notifier()
    await restarted.run_once()  # within the send lease: left alone
    assert (await h.notices())[0]["status"] == "sending"
    h.clock.now += timedelta(minutes=1)
    await restarted.run_once()
    [notice] = await h.notices()
    [sent] = h.twilio.messages.values()
    assert notice["status"] == "sent" and notice["provider_id"] == sent["sid"]
    assert len(h.twilio.created_messages()) == 1
    assert await h.attempts() == ["reconciled"]


async def test_killed_before_twilio_got_it_sends_once(h: Harness) -> None:
    await h.customer()
    await h.ship(created(), late(30))

    class DiesBeforeSending(DiesAfterSending):
        async def send(self, to: str, body: str, status_callback: str | None) -> str:
            raise Killed

    restarted = h.notifier()
    with pytest.raises(Killed):
        await h.notifier(sms=DiesBeforeSending(restarted.sms)).run_once()  # type: ignore[arg-type]
    h.clock.now += timedelta(minutes=1)
    h.twilio.fail_next(1, 503)  # the lookup fails: left in 'sending', asked again later
    await restarted.run_once()
    assert (await h.notices())[0]["status"] == "sending"
    h.clock.now += timedelta(minutes=1)
    await restarted.run_once()  # not found at Twilio → sent now
    assert len(h.twilio.created_messages()) == 1
    assert (await h.notices())[0]["status"] == "sent"
    assert await h.attempts() == ["not_sent", "sent"]


async def test_quiet_hours_defer_then_send(h: Harness) -> None:
    await h.customer(time_zone="America/New_York")
    h.clock.now = datetime(2026, 1, 15, 3, 30, tzinfo=UTC)  # 22:30 in New York
    await h.ship(created(), late(30))
    notifier = h.notifier()
    assert await notifier.run_once() == 0
    [notice] = await h.notices()
    assert notice["status"] == "deferred"
    assert notice["not_before"] == datetime(2026, 1, 15, 13, 0, tzinfo=UTC)  # 08:00 local
    h.clock.now = datetime(2026, 1, 15, 12, 59, tzinfo=UTC)
    await notifier.run_once()
    assert h.twilio.created_messages() == []
    h.clock.now = datetime(2026, 1, 15, 13, 0, tzinfo=UTC)
    await notifier.run_once()
    assert len(h.twilio.created_messages()) == 1
    assert (await h.notices())[0]["status"] == "sent"


async def test_opted_out_gets_email_never_sms(h: Harness, smtp: tuple[Inbox, int]) -> None:
    inbox, _ = smtp
    await h.customer(sms_consent=False)
    await h.ship(created(), late(30))
    await h.notifier().run_once()
    assert h.twilio.created_messages() == []
    [mail] = inbox.messages
    assert mail["To"] == "alice@example.com" and mail["Subject"] == "Your order o1 is delayed"
    assert mail["Message-ID"].startswith("<notice.") and mail["Auto-Submitted"]
    assert mail.is_multipart() and {p.get_content_type() for p in mail.walk()} >= {
        "text/plain",
        "text/html",
    }
    [notice] = await h.notices()
    assert notice["channel"] == "email" and notice["status"] == "sent"
    assert notice["provider_id"] == mail["Message-ID"]


async def test_consent_withdrawn_after_decision_falls_back_to_email(
    h: Harness, smtp: tuple[Inbox, int]
) -> None:
    await h.customer()
    await h.ship(created(), late(30))
    await h.pool.execute("UPDATE customers SET sms_consent = false")
    await h.notifier().run_once()
    await h.notifier().run_once()
    assert h.twilio.created_messages() == []
    statuses = {n["channel"]: n["status"] for n in await h.notices()}
    assert statuses == {"sms": "suppressed", "email": "sent"}
    assert len(smtp[0].messages) == 1


async def test_no_consent_at_all_sends_nothing(h: Harness, smtp: tuple[Inbox, int]) -> None:
    await h.customer(sms_consent=False, email_consent=False)
    await h.ship(created(), late(30))
    await h.notifier().run_once()
    assert h.twilio.created_messages() == [] and smtp[0].messages == []
    [notice] = await h.notices()
    assert (notice["channel"], notice["status"]) == ("none", "suppressed")


async def test_transient_then_success(h: Harness) -> None:
    await h.customer()
    await h.ship(created(), late(30))
    h.twilio.fail_next(2, 503)
    notifier = h.notifier()
    await notifier.run_once()
    [notice] = await h.notices()
    # attempt 1 → backoff 2 s × (1/2 + 0.5/2) = 1.5 s
    assert notice["status"] == "pending"
    assert notice["next_attempt_at"] == NOON + timedelta(seconds=1.5)
    await notifier.run_once()  # not due yet
    h.clock.now += timedelta(seconds=2)
    await notifier.run_once()  # second 503 → backoff 3 s
    h.clock.now += timedelta(seconds=3)
    await notifier.run_once()
    [notice] = await h.notices()
    assert notice["status"] == "sent" and notice["attempts"] == 3
    assert await h.attempts() == ["transient", "transient", "sent"]
    assert len(h.twilio.created_messages()) == 1


async def test_transient_smtp_then_success(h: Harness, smtp: tuple[Inbox, int]) -> None:
    await h.customer(preferred_channel="email")
    smtp[0].reply = "451 4.3.0 try again later"
    await h.ship(created(), late(30))
    notifier = h.notifier()
    await notifier.run_once()
    h.clock.now += timedelta(seconds=5)
    await notifier.run_once()
    assert len(smtp[0].messages) == 1 and await h.attempts() == ["transient", "sent"]


@pytest.mark.parametrize(("kind", "code"), [("opted_out", "21610"), ("invalid", "21211")])
async def test_permanent_failure_recorded_without_retry(h: Harness, kind: str, code: str) -> None:
    await h.customer()
    getattr(h.twilio, kind).add("+15550001111")
    await h.ship(created(), late(30))
    notifier = h.notifier()
    await notifier.run_once()
    h.clock.now += timedelta(hours=1)
    await notifier.run_once()
    [notice] = await h.notices()
    assert (notice["status"], notice["error_code"], notice["attempts"]) == ("failed", code, 1)
    assert await h.attempts() == ["permanent"]
    posts = [r for r in h.twilio.requests if r.method == "POST"]
    assert len(posts) == 1


async def test_smtp_permanent_failure(h: Harness, smtp: tuple[Inbox, int]) -> None:
    await h.customer(preferred_channel="email")
    smtp[0].reply = "550 5.1.1 no such user"
    await h.ship(created(), late(30))
    await h.notifier().run_once()
    [notice] = await h.notices()
    assert (notice["status"], notice["error_code"]) == ("failed", "550")


async def test_status_callback_signature_checked(h: Harness) -> None:
    await h.customer()
    await h.ship(created(), late(30))
    await h.notifier().run_once()
    [notice] = await h.notices()
    app = callback_app(
        h.pool, signature_check(h.settings, "notifier"), "http://notifier.test", h.clock
    )
    from aiohttp.test_utils import TestClient, TestServer

    async with TestClient(TestServer(app)) as client:
        path = "/twilio/sms-status?notice=" + notice["notice_id"]
        form = {"MessageSid": notice["provider_id"], "MessageStatus": "delivered"}
        bad = await client.post(path, data=form, headers={"X-Twilio-Signature": "nope"})
        assert bad.status == 403
        assert (await h.notices())[0]["status"] == "sent"
        signature = sign(h.twilio.auth_token, "http://notifier.test" + path, form)
        good = await client.post(path, data=form, headers={"X-Twilio-Signature": signature})
        assert good.status == 200
    [notice] = await h.notices()
    assert (notice["status"], notice["provider_status"]) == ("delivered", "delivered")
    assert await h.attempts() == ["sent", "status"]


async def test_rate_limit_defers(h: Harness) -> None:
    await h.customer()
    for n in range(4):
        await h.ship(created(f"s{n}"), late(30, shipment=f"s{n}"))
    await h.notifier().run_once()
    statuses = sorted(n["status"] for n in await h.notices())
    assert statuses == ["deferred", "sent", "sent", "sent"]
    assert len(h.twilio.created_messages()) == 3


async def test_two_notifiers_racing_on_one_customer_keep_the_rate_limit(h: Harness) -> None:
    await h.customer()
    for n in range(6):
        await h.ship(created(f"s{n}"), late(30, shipment=f"s{n}"))
    h.twilio.delay = 0.2  # every send takes a while: both notifiers have sends under way
    first, second = h.notifier(batch_size=2), h.notifier(batch_size=2)
    for _ in range(3):
        await asyncio.gather(first.run_once(), second.run_once())
    limit = h.policy.rate_limit_count
    notices = await h.notices()
    sent = [n for n in notices if n["status"] == "sent"]
    assert len(sent) == limit == 3
    assert len(h.twilio.created_messages()) == limit
    assert {n["claimed_by"] for n in sent} == {first.worker_id, second.worker_id}
    deferred = [n for n in notices if n["status"] == "deferred"]
    assert len(deferred) == len(notices) - limit
    assert all(n["not_before"] > h.clock.now for n in deferred)


async def test_timeout_after_twilio_took_the_message_is_reconciled_not_resent(h: Harness) -> None:
    await h.customer()
    await h.ship(created(), late(30))
    h.twilio.delay_next_response(3)  # the message is taken; the answer comes too late
    impatient = TwilioSms(make_async_twilio_client(h.settings, timeout=0.5), "+15550009999")
    h.sms.append(impatient)
    await h.notifier(sms=impatient).run_once()
    [notice] = await h.notices()
    assert notice["status"] == "sending"  # not a retry: the outcome is unknown
    assert await h.attempts() == ["uncertain"]
    h.clock.now += timedelta(minutes=1)  # past the send lease
    await h.notifier().run_once()
    [notice] = await h.notices()
    [sid] = h.twilio.messages
    assert (notice["status"], notice["provider_id"]) == ("sent", sid)
    assert len(h.twilio.created_messages()) == 1
    assert await h.attempts() == ["reconciled"]


async def test_email_whose_answer_never_came_is_not_resent(
    h: Harness, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    await h.customer(preferred_channel="email")
    await h.ship(created(), late(30))
    inbox.hang = 1.5  # the relay took the message; its "250" comes too late
    impatient = SmtpEmail(SmtpConfig("127.0.0.1", port, timeout=0.5))
    await h.notifier(email=impatient).run_once()
    [notice] = await h.notices()
    assert notice["status"] == "sending"  # not a retry: it may have been delivered
    assert await h.attempts() == ["uncertain"]
    h.clock.now += timedelta(minutes=1)  # past the send lease
    await h.notifier().run_once()
    [notice] = await h.notices()
    assert notice["status"] == "unknown"  # for an operator to check, never sent twice
    assert len(inbox.messages) == 1


async def test_email_refused_before_the_body_is_retried(
    h: Harness, smtp: tuple[Inbox, int]
) -> None:
    await h.customer(preferred_channel="email")
    await h.ship(created(), late(30))
    with socket.socket() as probe:  # nothing listens here: the connection is refused
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    await h.notifier(email=SmtpEmail(SmtpConfig("127.0.0.1", closed_port, timeout=1))).run_once()
    [notice] = await h.notices()
    assert notice["status"] == "pending" and await h.attempts() == ["transient"]
    h.clock.now += timedelta(minutes=1)
    await h.notifier().run_once()
    assert len(smtp[0].messages) == 1 and await h.attempts() == ["transient", "sent"]
