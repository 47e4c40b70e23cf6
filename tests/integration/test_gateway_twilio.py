"""The gateway's Twilio voice and SMS webhooks on the real broker and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest

from schemas import contacts as ct
from schemas.presence import Typing, Typist
from schemas.topics import CONTACTS, TYPING
from services.bus import TopicReader
from services.gateway.app import RunningGateway, running_gateway
from services.gateway.chat_client import ChatCustomer
from services.runtime.broker import LocalBroker, free_port
from streams.platform.settings import Settings
from tests.support.channels import PUBLIC_BASE, Records, post_webhook, seed_customer
from tests.support.environment import isolated_settings

pytestmark = pytest.mark.integration

TOKEN = "gateway-test-token"
VIP = "+15550100001"


@pytest.fixture(scope="module")
async def gw_settings(broker: LocalBroker, postgres_server_url: str) -> Settings:
    settings = await isolated_settings(
        broker,
        postgres_server_url,
        twilio_auth_token=TOKEN,
        public_base_url=PUBLIC_BASE,
        gateway_port=0,
        smtp_port=0,
        gateway_max_body_bytes=8192,
    )
    url = settings.require_database_url()
    await seed_customer(
        url,
        customer_id="c-vip",
        name="Ada",
        tier="vip",
        phone=VIP,
        language="en",
        last_agent_id="agent-7",
    )
    await seed_customer(
        url, customer_id="c-es", tier="standard", phone="+15550100002", language="es"
    )
    return settings


@pytest.fixture(scope="module")
async def gateway(gw_settings: Settings) -> AsyncIterator[RunningGateway]:
    async with running_gateway(gw_settings) as running:
        yield running


@pytest.fixture(scope="module")
async def contacts(gw_settings: Settings) -> AsyncIterator[Records]:
    reader = TopicReader(gw_settings.kafka_bootstrap_servers, gw_settings.topic_prefix, [CONTACTS])
    async with reader:
        yield Records(reader)


def url(gateway: RunningGateway) -> str:
    return f"http://127.0.0.1:{gateway.http_port}"


def call(sid: str, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": "AC" + "1" * 32,
        "CallSid": sid,
        "From": VIP,
        "To": "+15559990000",
        "CallStatus": "ringing",
        "Direction": "inbound",
        **extra,
    }


async def test_voice_ivr_to_queue_callback_and_status(
    gateway: RunningGateway, http: aiohttp.ClientSession, contacts: Records
) -> None:
    base = url(gateway)
    status, body = await post_webhook(http, base, "/twilio/voice", call("CA01"), TOKEN)
    assert status == 200
    assert "<Gather" in body and 'numDigits="1"' in body and "press 0" in body
    assert body.count("press") <= 4 and "Ada" in body

    status, body = await post_webhook(
        http, base, "/twilio/voice/menu", call("CA01", Digits="1"), TOKEN
    )
    assert status == 200 and "/twilio/voice/hold" in body
    [arrived] = await contacts.wait_for(ct.ContactArrived, contact_id="call-CA01")
    assert arrived.channel is ct.Channel.VOICE
    assert arrived.customer_class == "vip" and arrived.skills == {"billing": 1}
    assert arrived.customer.customer_id == "c-vip" and arrived.last_agent_id == "agent-7"

    # a retried webhook finds the queued call and publishes nothing again
    status, _ = await post_webhook(
        http, base, "/twilio/voice/menu", call("CA01", Digits="1"), TOKEN
    )
    assert status == 200

    status, body = await post_webhook(
        http, base, "/twilio/voice/hold", call("CA01", Digits="1"), TOKEN
    )
    assert status == 200 and "<Hangup" in body
    [callback] = await contacts.wait_for(ct.CallbackRequested, contact_id="call-CA01")
    assert callback.callback_number == VIP

    status, _ = await post_webhook(
        http, base, "/twilio/voice/status", call("CA01", CallStatus="completed"), TOKEN
    )
    assert status == 204
    await contacts.wait_for(ct.ContactEnded, contact_id="call-CA01")

    # 0 for a person, a Spanish speaker needs the language skill; a no-answer is abandoned
    es = call("CA02", From="+15550100002", Digits="0")
    assert (await post_webhook(http, base, "/twilio/voice/menu", es, TOKEN))[0] == 200
    [arrived] = await contacts.wait_for(ct.ContactArrived, contact_id="call-CA02")
    assert arrived.customer_class == "standard" and arrived.skills == {"lang_es": 1}
    es_status = call("CA02", From="+15550100002", CallStatus="no-answer")
    assert (await post_webhook(http, base, "/twilio/voice/status", es_status, TOKEN))[0] == 204
    await contacts.wait_for(ct.ContactAbandoned, contact_id="call-CA02")
    assert len(contacts.of(ct.ContactArrived, contact_id="call-CA01")) == 1  # not twice


async def test_bad_input_is_refused_and_publishes_nothing(
    gateway: RunningGateway, http: aiohttp.ClientSession, contacts: Records, gw_settings: Settings
) -> None:
    base = url(gateway)
    params = call("CA-bad", Digits="1")
    status, _ = await post_webhook(
        http, base, "/twilio/voice/menu", params, TOKEN, signature="bm90IGEgc2lnbmF0dXJl"
    )
    assert status == 403
    async with http.post(base + "/twilio/voice/menu", data=params) as response:
        assert response.status == 403
    # signed over another URL (a proxy not configured as the public base)
    status, _ = await post_webhook(
        http, base, "/twilio/voice/menu", params, TOKEN, public_base="http://internal:8080"
    )
    assert status == 403
    status, text = await post_webhook(http, base, "/twilio/voice/menu", {"From": VIP}, TOKEN)
    assert status == 400 and "CallSid" in text
    async with http.post(base + "/twilio/sms", json={"From": VIP}) as response:
        assert response.status == 400
        assert "x-www-form-urlencoded" in await response.text()
    big = {"MessageSid": "SMbig", "From": VIP, "Body": "x" * 20_000}
    status, _ = await post_webhook(http, base, "/twilio/sms", big, TOKEN)
    assert status == 413
    await contacts.poll()
    assert not contacts.of(ct.ContactArrived, contact_id="call-CA-bad")
    assert not [r for r in contacts.all if getattr(r, "message_id", None) == "SMbig"]


async def test_sms_threads_by_number_and_keywords_change_consent(
    gateway: RunningGateway, http: aiohttp.ClientSession, contacts: Records, gw_settings: Settings
) -> None:
    base = url(gateway)
    number = "+15550100003"

    def sms(sid: str, body: str) -> dict[str, str]:
        return {
            "AccountSid": "AC" + "1" * 32,
            "MessageSid": sid,
            "SmsSid": sid,
            "From": number,
            "To": "+15559990000",
            "Body": body,
            "NumMedia": "0",
        }

    assert (await post_webhook(http, base, "/twilio/sms", sms("SM1", "Where is my order?"), TOKEN))[
        0
    ] == 200
    assert (await post_webhook(http, base, "/twilio/sms", sms("SM2", "It is #42"), TOKEN))[0] == 200
    [arrived] = await contacts.wait_for(ct.ContactArrived, contact_id="sms-SM1")
    assert arrived.channel is ct.Channel.SMS and arrived.customer.phone == number
    messages = await contacts.wait_for(ct.ContactMessageReceived, 2, contact_id="sms-SM1")
    assert [m.body for m in messages] == ["Where is my order?", "It is #42"]

    connection = await asyncpg.connect(gw_settings.require_database_url())
    try:
        assert (await post_webhook(http, base, "/twilio/sms", sms("SM3", "STOP"), TOKEN))[0] == 200
        consent = "SELECT sms_consent FROM customers WHERE phone = $1"
        assert await connection.fetchval(consent, number) is False
        assert (await post_webhook(http, base, "/twilio/sms", sms("SM4", " start "), TOKEN))[
            0
        ] == 200
        assert await connection.fetchval(consent, number) is True
        assert (
            await post_webhook(
                http, base, "/twilio/sms", {**sms("SM5", "unsubscribe"), "From": VIP}, TOKEN
            )
        )[0] == 200
        assert await connection.fetchval(consent, VIP) is False
    finally:
        await connection.close()
    await contacts.poll()
    assert not [r for r in contacts.all if getattr(r, "message_id", None) in {"SM3", "SM4"}]


async def test_broker_unreachable_answers_503_and_keeps_the_message_for_the_retry(
    gw_settings: Settings, http: aiohttp.ClientSession
) -> None:
    """Answered 503 (Twilio retries), and nothing said is lost: the conversation, the message
    and both records wait in the edge outbox (tests/integration/test_edge_retries.py has the
    retry and the re-sender)."""
    dead = gw_settings.with_values(
        kafka_bootstrap_servers=f"127.0.0.1:{free_port()}",
        gateway_publish_timeout=1.0,
        edge_resend_after_seconds=3600,
    )
    params = {
        "MessageSid": "SMdown",
        "From": "+15550100009",
        "To": "+15559990000",
        "Body": "hello?",
    }
    async with running_gateway(dead, delivery_wait=0.1) as down:
        status, _ = await post_webhook(http, url(down), "/twilio/sms", params, TOKEN)
        assert status == 503
        assert (await post_webhook(http, url(down), "/healthz", {}, TOKEN))[0] in {200, 405}
    connection = await asyncpg.connect(gw_settings.require_database_url())
    try:
        body = await connection.fetchval(
            "SELECT body FROM channel_messages WHERE message_id = 'SMdown'"
        )
        staged = await connection.fetch(
            "SELECT event_id, published_at FROM edge_outbox WHERE record_key = 'sms-SMdown'"
            " ORDER BY seq"
        )
    finally:
        await connection.close()
    assert body == "hello?"
    assert [(r["event_id"], r["published_at"]) for r in staged] == [
        ("sms-SMdown:arrived", None),
        ("sms:SMdown", None),
    ]


async def test_smtp_refuses_malformed_and_oversized_mail(
    gateway: RunningGateway, gw_settings: Settings
) -> None:
    import aiosmtplib

    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=gateway.smtp_port)
    await smtp.connect()
    try:
        with pytest.raises(aiosmtplib.SMTPDataError) as no_sender:
            await smtp.sendmail(
                "x@example.com",
                ["support@shop.example"],
                b"Subject: no From header\r\n\r\nhello\r\n",
            )
        assert no_sender.value.code == 554
        big = b"From: a@example.com\r\n\r\n" + b"x" * (gw_settings.smtp_max_message_bytes + 10)
        with pytest.raises(aiosmtplib.SMTPResponseException) as too_big:
            await smtp.sendmail("a@example.com", ["support@shop.example"], big)
        assert too_big.value.code == 552
    finally:
        smtp.close()


async def test_chat_rejects_bad_frames_without_closing(
    gateway: RunningGateway, http: aiohttp.ClientSession, contacts: Records
) -> None:
    base = url(gateway)
    async with http.post(
        base + "/chat/sessions", data=b"{not json", headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400
    browser = ChatCustomer(base)
    await browser.start()
    async with browser, browser.socket() as ws:
        await ws.send_str("not json")
        assert (await ws.receive_json(timeout=5))["type"] == "error"
        await ws.send_json({"type": "message", "text": ""})
        assert (await ws.receive_json(timeout=5))["type"] == "error"
        await ws.send_json({"type": "message", "text": "hi", "id": "1"})
        ack = await ws.receive_json(timeout=5)
        assert ack["type"] == "ack"
    [arrived] = await contacts.wait_for(ct.ContactArrived, contact_id=ack["contact_id"])
    assert arrived.channel is ct.Channel.CHAT and arrived.customer.chat_id.startswith("web-")


async def test_undecodable_bodies_get_4xx_with_a_reason_and_publish_nothing(
    gateway: RunningGateway, http: aiohttp.ClientSession, contacts: Records
) -> None:
    base = url(gateway)
    form = "application/x-www-form-urlencoded"
    cases = [
        ("/twilio/sms", form, b"MessageSid=SMutf&From=%2B15550100001&Body=\xff\xfe", 400, "utf-8"),
        ("/twilio/sms", form, b"MessageSid=SMpct&From=%2B15550100001&Body=%ff", 400, "utf-8"),
        ("/twilio/voice", f"{form}; charset=nope", b"CallSid=CAcs&From=x", 415, "nope"),
        ("/twilio/voice/status", form, b"CallSid=CA\x80&CallStatus=completed", 400, "utf-8"),
        ("/chat/sessions", "application/json", b"\xff\xfe", 400, "utf-8"),
        ("/chat/sessions", "application/json; charset=nope", b"{}", 415, "nope"),
    ]
    for path, content_type, body, expected, reason in cases:
        headers = {"Content-Type": content_type, "X-Twilio-Signature": "c2lnbmF0dXJl"}
        async with http.post(base + path, data=body, headers=headers) as response:
            text = await response.text()
            assert (response.status, path) == (expected, path), text
            assert reason in text.lower(), text
    await contacts.poll()
    assert not [r for r in contacts.all if getattr(r, "message_id", None) in {"SMutf", "SMpct"}]
    assert not contacts.of(ct.ContactArrived, contact_id="call-CAcs")


async def test_a_class_with_a_pool_of_its_own_routes_there(
    gw_settings: Settings, http: aiohttp.ClientSession, contacts: Records
) -> None:
    """``gateway_class_pools`` (a dedicated VIP team): VIP contacts go to the VIP pool, the
    others to ``gateway_pool_id``; the conversation keeps the pool its contact went to."""
    settings = gw_settings.with_values(gateway_class_pools={"vip": "vip-team"})
    async with running_gateway(settings) as dedicated:
        base = url(dedicated)
        for sid, number in (("CA-POOL-1", VIP), ("CA-POOL-2", "+15550100002")):
            status, _ = await post_webhook(
                http, base, "/twilio/voice/menu", call(sid, From=number, Digits="1"), TOKEN
            )
            assert status == 200
        [vip] = await contacts.wait_for(ct.ContactArrived, contact_id="call-CA-POOL-1")
        [standard] = await contacts.wait_for(ct.ContactArrived, contact_id="call-CA-POOL-2")
        assert (vip.customer_class, vip.pool_id) == ("vip", "vip-team")
        assert (standard.customer_class, standard.pool_id) == ("standard", "default")
        stored = await dedicated.ctx.conversations.get("call-CA-POOL-1")
        assert stored is not None and stored.pool_id == "vip-team"


async def test_chat_typing_goes_on_its_own_topic_throttled(
    gw_settings: Settings, gateway: RunningGateway, contacts: Records
) -> None:
    """A customer's typing frames: one signal per socket every couple of seconds on the
    ``typing`` topic (key contact id), none before the chat has a contact, none on
    ``contacts`` (so never in routing or the interaction log)."""
    reader = TopicReader(gw_settings.kafka_bootstrap_servers, gw_settings.topic_prefix, [TYPING])
    async with reader:
        signals = Records(reader)
        browser = ChatCustomer(url(gateway))
        await browser.start(name="Tess")
        async with browser, browser.socket() as ws:
            await ws.send_json({"type": "typing"})  # no contact yet: nobody to tell
            await ws.send_json({"type": "message", "text": "hello", "id": "t1"})
            while (ack := await ws.receive_json(timeout=5))["type"] != "ack":
                pass
            for _ in range(5):  # typed on and on: one signal
                await ws.send_json({"type": "typing"})
            await ws.send_json({"type": "message", "text": "typed it", "id": "t2"})
            while (await ws.receive_json(timeout=5))["type"] != "ack":
                pass
        contact_id = ack["contact_id"]
        [signal] = await signals.wait_for(Typing, contact_id=contact_id)
        assert signal.who is Typist.CUSTOMER
        await contacts.wait_for(ct.ContactMessageReceived, contact_id=contact_id, body="typed it")
        await signals.poll()  # published before that ack, had the throttle let them through
        assert len(signals.of(Typing)) == 1
        assert not contacts.of(Typing)
