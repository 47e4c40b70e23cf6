"""Exactly once at the edge (docs/security.md, "Retries and the outbox"), on the real broker and
PostgreSQL: a provider's retry (same MessageSid, CallSid, Message-ID, chat frame id, survey
answer) has one effect, and a first attempt that met the broker away is published by the retry
or by the re-sender, never lost and never twice."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.utils import make_msgid

import aiohttp
import aiosmtplib
import asyncpg
import pytest

from schemas import contacts as ct
from schemas.topics import CONTACTS
from services.bus import TopicReader
from services.gateway.app import RunningGateway, running_gateway
from services.gateway.chat_client import ChatCustomer
from services.gateway.email_in import contact_id_for
from services.runtime.broker import LocalBroker, free_port
from streams.platform.settings import Settings
from tests.support.channels import PUBLIC_BASE, Records, post_webhook, seed_customer
from tests.support.environment import isolated_settings
from tests.support.workers import eventually

pytestmark = pytest.mark.integration

TOKEN = "edge-retry-token"
OUR_NUMBER = "+15559990000"


@pytest.fixture(scope="module")
async def edge_settings(broker: LocalBroker, postgres_server_url: str) -> Settings:
    settings = await isolated_settings(
        broker,
        postgres_server_url,
        twilio_auth_token=TOKEN,
        public_base_url=PUBLIC_BASE,
        gateway_port=0,
        smtp_port=0,
        edge_resend_after_seconds=3600,  # a retry publishes; one test starts a re-sender
        gateway_publish_timeout=1.0,
    )
    await seed_customer(
        settings.require_database_url(), customer_id="c-survey", phone="+15550700009"
    )
    return settings


@pytest.fixture(scope="module")
async def gateway(edge_settings: Settings) -> AsyncIterator[RunningGateway]:
    async with running_gateway(edge_settings) as running:
        yield running


@pytest.fixture
async def broker_away(edge_settings: Settings) -> AsyncIterator[RunningGateway]:
    """A second gateway on the same database whose broker cannot be reached."""
    dead = edge_settings.with_values(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    async with running_gateway(dead, delivery_wait=0.1) as running:
        yield running


@pytest.fixture(scope="module")
async def contacts(edge_settings: Settings) -> AsyncIterator[Records]:
    reader = TopicReader(
        edge_settings.kafka_bootstrap_servers, edge_settings.topic_prefix, [CONTACTS]
    )
    async with reader:
        yield Records(reader)


@pytest.fixture
async def db(edge_settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(edge_settings.require_database_url())
    yield connection
    await connection.close()


def url(gateway: RunningGateway) -> str:
    return f"http://127.0.0.1:{gateway.http_port}"


def sms(sid: str, number: str, body: str) -> dict[str, str]:
    return {"MessageSid": sid, "From": number, "To": OUR_NUMBER, "Body": body, "NumMedia": "0"}


async def settled(
    contacts: Records,
    marker_sid: str,
    number: str,
    http: aiohttp.ClientSession,
    gateway: RunningGateway,
) -> None:
    """Send one more message on the same thread and wait for it: every record of the thread
    published before it (a duplicate included) has then been read (one partition per key)."""
    status, _ = await post_webhook(
        http, url(gateway), "/twilio/sms", sms(marker_sid, number, "one more"), TOKEN
    )
    assert status == 200
    await contacts.wait_for(ct.ContactMessageReceived, message_id=marker_sid)


async def test_a_retried_sms_is_stored_and_published_once(
    gateway: RunningGateway,
    contacts: Records,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
) -> None:
    number, sid = "+15550700001", "SM" + uuid.uuid4().hex
    for _ in range(3):  # Twilio's retries of a slow answer
        status, _ = await post_webhook(
            http, url(gateway), "/twilio/sms", sms(sid, number, "Where is my parcel?"), TOKEN
        )
        assert status == 200
    await settled(contacts, "SM" + uuid.uuid4().hex, number, http, gateway)
    assert len(contacts.of(ct.ContactMessageReceived, event_id=f"sms:{sid}")) == 1
    assert len(contacts.of(ct.ContactArrived, contact_id=f"sms-{sid}")) == 1
    assert (
        await db.fetchval("SELECT count(*) FROM channel_messages WHERE message_id = $1", sid) == 1
    )


async def test_a_retried_email_is_published_once(
    gateway: RunningGateway, contacts: Records
) -> None:
    mail = EmailMessage()
    mail["From"] = "ann@example.com"
    mail["To"] = "support@shop.example"
    mail["Subject"] = "Invoice"
    mail["Message-ID"] = message_id = make_msgid(domain="example.com")
    mail.set_content("My invoice is wrong.")
    for _ in range(2):  # the sender did not see our 250 and sends the same message again
        await aiosmtplib.send(mail, hostname="127.0.0.1", port=gateway.smtp_port)
    follow_up = EmailMessage()
    follow_up["From"] = "ann@example.com"
    follow_up["To"] = "support@shop.example"
    follow_up["Subject"] = "Re: Invoice"
    follow_up["Message-ID"] = marker = make_msgid(domain="example.com")
    follow_up["In-Reply-To"] = message_id
    follow_up.set_content("Any news?")
    await aiosmtplib.send(follow_up, hostname="127.0.0.1", port=gateway.smtp_port)
    await contacts.wait_for(ct.ContactMessageReceived, message_id=marker)
    assert len(contacts.of(ct.ContactMessageReceived, message_id=message_id)) == 1
    assert len(contacts.of(ct.ContactArrived, contact_id=contact_id_for(message_id))) == 1


async def test_a_chat_frame_sent_again_after_a_reconnect_is_published_once(
    gateway: RunningGateway, contacts: Records
) -> None:
    async with ChatCustomer(url(gateway)) as browser:
        await browser.start(name="Rae")
        async with browser.socket() as ws:
            await ws.send_json({"type": "message", "text": "Hello?", "id": "f1"})
            first = await ws.receive_json(timeout=10)
        await browser.resume()  # the page reloads; no ack had reached it, so it sends again
        async with browser.socket() as ws:
            assert (await ws.receive_json(timeout=10))["type"] == "history"
            await ws.send_json({"type": "message", "text": "Hello?", "id": "f1"})
            again = await ws.receive_json(timeout=10)
            await ws.send_json({"type": "message", "text": "Anyone?", "id": "f2"})
            marker = await ws.receive_json(timeout=10)
    assert first["type"] == again["type"] == marker["type"] == "ack"
    assert first["contact_id"] == again["contact_id"] == marker["contact_id"]
    contact_id = first["contact_id"]
    await contacts.wait_for(ct.ContactMessageReceived, contact_id=contact_id, count=2)
    received = contacts.of(ct.ContactMessageReceived, contact_id=contact_id)
    assert [r.body for r in received] == ["Hello?", "Anyone?"]
    assert len(contacts.of(ct.ContactArrived, contact_id=contact_id)) == 1


async def test_retried_voice_webhooks_publish_once(
    gateway: RunningGateway, contacts: Records, http: aiohttp.ClientSession
) -> None:
    sid = "CA" + uuid.uuid4().hex
    call = {"CallSid": sid, "From": "+15550700002", "To": OUR_NUMBER, "Digits": "0"}
    for _ in range(2):
        assert (await post_webhook(http, url(gateway), "/twilio/voice/menu", call, TOKEN))[0] == 200
    for status in ("completed", "completed"):
        answer, _ = await post_webhook(
            http, url(gateway), "/twilio/voice/status", {**call, "CallStatus": status}, TOKEN
        )
        assert answer == 204
    await contacts.wait_for(ct.ContactEnded, contact_id=f"call-{sid}")
    marker = "CA" + uuid.uuid4().hex  # a later call: everything before it has been read
    later = {**call, "CallSid": marker}
    assert (await post_webhook(http, url(gateway), "/twilio/voice/menu", later, TOKEN))[0] == 200
    await contacts.wait_for(ct.ContactArrived, contact_id=f"call-{marker}")
    assert len(contacts.of(ct.ContactArrived, contact_id=f"call-{sid}")) == 1
    assert len(contacts.of(ct.ContactEnded, contact_id=f"call-{sid}")) == 1


async def test_a_retried_survey_answer_opens_no_contact(
    gateway: RunningGateway,
    contacts: Records,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
) -> None:
    number, sid = "+15550700009", "SM" + uuid.uuid4().hex
    await db.execute(
        "INSERT INTO csat_surveys (contact_id, channel, address, customer_id, customer_class,"
        " agent_id, reason, status, answer_token, not_before, sent_at)"
        " VALUES ('c-surveyed', 'sms', $1, 'c-survey', 'standard', 'ann', 'none', 'sent', 't',"
        " now(), now())",
        number,
    )
    for _ in range(2):
        status, body = await post_webhook(
            http, url(gateway), "/twilio/sms", sms(sid, number, "5"), TOKEN
        )
        assert status == 200 and "Thank you for your answer" in body
    row = await db.fetchrow(
        "SELECT status, score FROM csat_surveys WHERE contact_id = 'c-surveyed'"
    )
    assert (row["status"], row["score"]) == ("answered", 5)
    assert (
        await db.fetchval("SELECT count(*) FROM channel_conversations WHERE address = $1", number)
        == 0
    )
    await settled(contacts, "SM" + uuid.uuid4().hex, "+15550700008", http, gateway)
    assert not contacts.of(ct.ContactArrived, contact_id=f"sms-{sid}")


async def test_a_message_stored_while_the_broker_was_away_is_published_once_by_the_retry(
    gateway: RunningGateway,
    broker_away: RunningGateway,
    contacts: Records,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
) -> None:
    number, sid = "+15550700003", "SM" + uuid.uuid4().hex
    params = sms(sid, number, "Is anyone there?")
    status, _ = await post_webhook(http, url(broker_away), "/twilio/sms", params, TOKEN)
    assert status == 503  # Twilio will retry
    pending = await db.fetch(
        "SELECT event_id FROM edge_outbox WHERE record_key = $1 AND published_at IS NULL"
        " ORDER BY seq",
        f"sms-{sid}",
    )
    assert [r["event_id"] for r in pending] == [f"sms-{sid}:arrived", f"sms:{sid}"]
    status, _ = await post_webhook(http, url(gateway), "/twilio/sms", params, TOKEN)
    assert status == 200
    await settled(contacts, "SM" + uuid.uuid4().hex, number, http, gateway)
    thread = [r for r in contacts.all if getattr(r, "contact_id", None) == f"sms-{sid}"]
    assert [type(r) for r in thread[:2]] == [ct.ContactArrived, ct.ContactMessageReceived]
    assert len(contacts.of(ct.ContactArrived, contact_id=f"sms-{sid}")) == 1
    assert len(contacts.of(ct.ContactMessageReceived, event_id=f"sms:{sid}")) == 1


async def test_what_no_retry_came_for_is_published_by_the_resender(
    edge_settings: Settings,
    broker_away: RunningGateway,
    contacts: Records,
    http: aiohttp.ClientSession,
) -> None:
    number, sid = "+15550700004", "SM" + uuid.uuid4().hex
    status, _ = await post_webhook(
        http, url(broker_away), "/twilio/sms", sms(sid, number, "Hello"), TOKEN
    )
    assert status == 503
    # no retry comes: a gateway's re-sender publishes both records, in order
    resending = edge_settings.with_values(edge_resend_after_seconds=0.5)
    async with running_gateway(resending, delivery_wait=0.1):
        await contacts.wait_for(ct.ContactMessageReceived, event_id=f"sms:{sid}")
    thread = [r for r in contacts.all if getattr(r, "contact_id", None) == f"sms-{sid}"]
    assert [type(r) for r in thread] == [ct.ContactArrived, ct.ContactMessageReceived]


async def test_a_chat_message_refused_while_the_broker_was_away_is_published_once(
    gateway: RunningGateway, broker_away: RunningGateway, contacts: Records
) -> None:
    async with ChatCustomer(url(broker_away)) as browser:
        await browser.start(name="Sam")
        async with browser.socket() as ws:
            await ws.send_json({"type": "message", "text": "Help", "id": "m1"})
            refused = await ws.receive_json(timeout=15)
        assert refused == {"type": "error", "reason": "unavailable, please send again", "id": "m1"}
        browser.base = url(gateway)  # the page reconnects, to another gateway of the site
        async with browser.socket() as ws:
            assert (await ws.receive_json(timeout=10))["type"] == "history"
            await ws.send_json({"type": "message", "text": "Help", "id": "m1"})
            ack = await ws.receive_json(timeout=10)
    assert ack["type"] == "ack" and ack["id"] == "m1"
    contact_id = ack["contact_id"]
    await contacts.wait_for(ct.ContactMessageReceived, contact_id=contact_id)

    async def only_once() -> bool:
        await contacts.poll()
        return len(contacts.of(ct.ContactArrived, contact_id=contact_id)) == 1

    await eventually(only_once, 10, "the chat's arrival")
    assert len(contacts.of(ct.ContactMessageReceived, contact_id=contact_id)) == 1
