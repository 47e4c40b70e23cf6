"""Every channel end to end: signed Twilio webhooks, SMTP, web chat → gateway → broker → routing
worker (a real process) → desk (offer with screen pop on the right agent's stream) → accept →
the customer's channel (Twilio-shaped REST server, SMTP relay, chat socket) → complete → the
contact's lifecycle in PostgreSQL (interaction log)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiohttp
import aiosmtplib
import asyncpg
import pytest

from services.desk.app import RunningDesk, running_desk
from services.desk.auth import issue_token
from services.gateway.app import RunningGateway, running_gateway
from services.gateway.chat_client import ChatCustomer
from services.runtime.broker import LocalBroker
from services.twilio_client import make_async_twilio_client
from streams.platform.settings import Settings
from tests.support.channels import (
    OUR_NUMBER,
    Relay,
    channel_values,
    lifecycle,
    post_webhook,
    seed_customer,
    smtp_relay,
)
from tests.support.desk_client import AgentClient, offer_for
from tests.support.environment import isolated_settings
from tests.support.twilio_api import TwilioApiServer
from tests.support.workers import eventually, running_worker

pytestmark = pytest.mark.e2e

VIP_PHONE = "+15550200001"
SKILLS = {"billing": 5, "orders": 5, "technical": 5}


@pytest.fixture(scope="module")
async def twilio() -> AsyncIterator[TwilioApiServer]:
    async with TwilioApiServer() as server:
        yield server


@pytest.fixture(scope="module")
async def relay() -> AsyncIterator[tuple[Relay, int]]:
    async with smtp_relay() as running:
        yield running


@pytest.fixture(scope="module")
async def e2e_settings(
    broker: LocalBroker,
    postgres_server_url: str,
    twilio: TwilioApiServer,
    relay: tuple[Relay, int],
) -> Settings:
    settings = await isolated_settings(
        broker,
        postgres_server_url,
        **channel_values(twilio),
        smtp_relay_port=relay[1],
        support_email="support@shop.example",
    )
    url = settings.require_database_url()
    last_hour = datetime.now(UTC) - timedelta(hours=1)
    await seed_customer(
        url,
        customer_id="vip-1",
        name="Grace Hopper",
        tier="vip",
        phone=VIP_PHONE,
        email="grace@example.com",
        chat_id="grace",
        last_agent_id="alice",
        last_agent_at=last_hour,
    )
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "INSERT INTO customer_flags (customer_id, flag_id, kind, text, compensation,"
            " shipment_id) VALUES ('vip-1', 'shipment_delay:S1', 'shipment_delay',"
            ' \'Order O-77 is 3 days late\', \'{"percent": 20, "text": "20% off your next'
            " order\"}'::jsonb, 'S1')"
        )
    finally:
        await connection.close()
    return settings


@pytest.fixture(scope="module")
def worker(e2e_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    log = tmp_path_factory.mktemp("e2e-worker") / "worker.log"
    with running_worker(e2e_settings, log):
        yield log


@pytest.fixture(scope="module")
async def gateway(e2e_settings: Settings, worker: Path) -> AsyncIterator[RunningGateway]:
    async with running_gateway(e2e_settings) as running:
        yield running


@pytest.fixture(scope="module")
async def desk(e2e_settings: Settings, worker: Path) -> AsyncIterator[RunningDesk]:
    async with running_desk(e2e_settings) as running:
        yield running


@pytest.fixture(scope="module")
async def agents(
    e2e_settings: Settings, desk: RunningDesk, http: aiohttp.ClientSession
) -> AsyncIterator[dict[str, AgentClient]]:
    pool = desk.desk.pool
    clients: dict[str, AgentClient] = {}
    for agent_id in ("alice", "bob"):
        await pool.execute(
            "INSERT INTO agents (agent_id, pool_id, name, skills) VALUES ($1, 'default', $2,"
            " $3::jsonb)",
            agent_id,
            agent_id.title(),
            '{"billing": 5, "orders": 5, "technical": 5}',
        )
        token = await issue_token(pool, agent_id)
        client = await AgentClient(http, f"http://127.0.0.1:{desk.port}", agent_id, token).start()
        assert (await client.call("POST", "/api/login"))[0] == 200
        assert (await client.call("POST", "/api/state", {"state": "ready"}))[0] == 200
        clients[agent_id] = client
    for client in clients.values():  # routing has them ready before any contact arrives
        await eventually(lambda c=client: _state(c, "ready"), 60, f"{client.agent_id} ready")
    yield clients
    for client in clients.values():
        await client.stop()


async def _true(value: object) -> bool:
    return bool(value)


async def _state(client: AgentClient, state: str) -> bool:
    changes = client.of("agent_state_changed")
    return bool(changes) and changes[-1]["state"] == state


async def test_voice_vip_ivr_offer_accept_connect_hangup(
    e2e_settings: Settings,
    gateway: RunningGateway,
    agents: dict[str, AgentClient],
    twilio: TwilioApiServer,
    http: aiohttp.ClientSession,
) -> None:
    client = make_async_twilio_client(e2e_settings)
    try:  # the live inbound call, as Twilio knows it
        call = await client.calls.create_async(to=OUR_NUMBER, from_=VIP_PHONE, twiml="<Response/>")
    finally:
        await client.http_client.close()
    twilio.calls[call.sid]["status"] = "in-progress"
    base = f"http://127.0.0.1:{gateway.http_port}"
    params = {
        "AccountSid": twilio.account_sid,
        "CallSid": call.sid,
        "From": VIP_PHONE,
        "To": OUR_NUMBER,
        "CallStatus": "in-progress",
        "Direction": "inbound",
    }
    token = twilio.auth_token
    status, twiml = await post_webhook(http, base, "/twilio/voice", params, token)
    assert status == 200 and "<Gather" in twiml and "Grace Hopper" in twiml
    status, twiml = await post_webhook(
        http, base, "/twilio/voice/menu", {**params, "Digits": "2"}, token
    )
    assert status == 200 and "<Redirect" in twiml

    contact_id = f"call-{call.sid}"
    agent, offer = await offer_for(list(agents.values()), contact_id)
    assert agent.agent_id == "alice"  # the VIP's last agent, within the window
    assert not agents["bob"].offers(contact_id)
    assert offer["customer"]["tier"] == "vip" and offer["channel"] == "voice"
    assert offer["customer"]["name"] == "Grace Hopper"
    assert offer["notices"][0]["compensation"] == "20% off your next order"
    assert "20% off" in offer["suggested_next_step"]
    assert offer["explanation"]

    status, body = await agents["bob"].call("POST", f"/api/offers/{offer['offer_id']}/accept")
    assert status == 403  # not bob's offer
    status, body = await agent.call("POST", f"/api/offers/{offer['offer_id']}/accept")
    assert status == 200 and body["status"] == "assigned" and body["call_sid"] == call.sid
    update = [
        r
        for r in twilio.requests
        if r.path.endswith(f"/Calls/{call.sid}.json") and r.method == "POST"
    ]
    assert update and "<Dial" in update[-1].form["Twiml"]
    assert "<Client>alice</Client>" in update[-1].form["Twiml"]

    hangup = {**params, "CallStatus": "completed", "CallDuration": "42"}
    assert (await post_webhook(http, base, "/twilio/voice/status", hangup, token))[0] == 204
    status, _ = await agent.call(
        "POST", f"/api/contacts/{contact_id}/complete", {"disposition": "refund_offered"}
    )
    assert status == 200
    row = await lifecycle(e2e_settings, contact_id)
    assert (row["channel"], row["customer_class"], row["agent_id"]) == ("voice", "vip", "alice")
    assert row["disposition"] == "refund_offered" and row["ended_at"] is not None
    assert row["answered_at"] and row["completed_at"] and row["customer_key"] == "vip-1"
    for kind in (
        "contact_arrived",
        "contact_queued",
        "offer_made",
        "offer_accepted",
        "contact_assigned",
        "contact_ended",
        "contact_completed",
        "contact_released",
    ):
        assert kind in row["events"], (kind, row["events"])


async def test_sms_offer_reply_through_twilio_and_complete(
    e2e_settings: Settings,
    gateway: RunningGateway,
    agents: dict[str, AgentClient],
    twilio: TwilioApiServer,
    http: aiohttp.ClientSession,
) -> None:
    base = f"http://127.0.0.1:{gateway.http_port}"
    number = "+15550200002"

    def sms(sid: str, body: str) -> dict[str, str]:
        return {
            "AccountSid": twilio.account_sid,
            "MessageSid": sid,
            "From": number,
            "To": OUR_NUMBER,
            "Body": body,
            "NumMedia": "0",
        }

    sid = "SM" + uuid.uuid4().hex
    assert (
        await post_webhook(http, base, "/twilio/sms", sms(sid, "Parcel missing"), twilio.auth_token)
    )[0] == 200
    contact_id = f"sms-{sid}"
    agent, offer = await offer_for(list(agents.values()), contact_id)
    assert offer["channel"] == "sms" and offer["customer"]["tier"] == "standard"
    assert offer["transcript"][0]["body"] == "Parcel missing"
    status, body = await agent.call("POST", f"/api/offers/{offer['offer_id']}/accept")
    assert status == 200 and body["status"] == "assigned"
    status, body = await agent.call(
        "POST", f"/api/contacts/{contact_id}/reply", {"text": "Sorry! A new parcel ships today."}
    )
    assert status == 200
    sent = twilio.created_messages()[-1]
    assert (sent["To"], sent["From"]) == (number, OUR_NUMBER)
    assert sent["Body"] == "Sorry! A new parcel ships today."
    # the customer answers in the same thread
    assert (
        await post_webhook(
            http, base, "/twilio/sms", sms("SM" + uuid.uuid4().hex, "Thanks"), twilio.auth_token
        )
    )[0] == 200
    status, thread = await agent.call("GET", f"/api/contacts/{contact_id}")
    assert [m["body"] for m in thread["messages"]][-1] == "Thanks"
    # Twilio retries a webhook it thinks failed: the agent sees the message once
    again = sms("SM" + uuid.uuid4().hex, "Is it on its way?")
    for _ in range(3):
        assert (await post_webhook(http, base, "/twilio/sms", again, twilio.auth_token))[0] == 200
    marker = sms("SM" + uuid.uuid4().hex, "Hello?")
    assert (await post_webhook(http, base, "/twilio/sms", marker, twilio.auth_token))[0] == 200

    def on_stream(sid: str) -> list[dict[str, Any]]:
        return [e for e in agent.events if e.get("message", {}).get("message_id") == sid]

    await eventually(lambda: _true(on_stream(marker["MessageSid"])), 15, "the marker message")
    assert len(on_stream(again["MessageSid"])) == 1
    # after STOP the desk refuses to text the customer
    assert (
        await post_webhook(
            http, base, "/twilio/sms", sms("SM" + uuid.uuid4().hex, "STOP"), twilio.auth_token
        )
    )[0] == 200
    status, body = await agent.call("POST", f"/api/contacts/{contact_id}/reply", {"text": "x"})
    assert status == 409 and "opted out" in body["error"]
    assert (
        await agent.call(
            "POST", f"/api/contacts/{contact_id}/complete", {"disposition": "reshipped"}
        )
    )[0] == 200
    row = await lifecycle(e2e_settings, contact_id)
    assert row["channel"] == "sms" and row["disposition"] == "reshipped"
    assert row["events"].count("contact_message_received") == 4  # STOP changes consent only
    assert "contact_message_sent" in row["events"]


async def test_email_over_smtp_threaded_reply_and_complete(
    e2e_settings: Settings,
    gateway: RunningGateway,
    agents: dict[str, AgentClient],
    relay: tuple[Relay, int],
) -> None:
    first = EmailMessage()
    first["From"] = "Grace Hopper <grace@example.com>"
    first["To"] = "support@shop.example"
    first["Subject"] = "=?utf-8?q?Rechnung_f=C3=BCr_Bestellung?="
    first["Message-ID"] = original = make_msgid(domain="example.com")
    first.set_content("Hello,\nmy invoice is wrong.\n")
    first.add_alternative("<p>Hello,</p><p>my invoice is <b>wrong</b>.</p>", subtype="html")
    first.add_attachment(
        b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="invoice.pdf"
    )
    await aiosmtplib.send(first, hostname="127.0.0.1", port=gateway.smtp_port)

    agent, offer = await offer_for(list(agents.values()), _email_contact(original))
    contact_id = offer["contact_id"]
    assert offer["channel"] == "email" and offer["customer"]["tier"] == "vip"
    assert offer["subject"] == "Rechnung für Bestellung"
    assert offer["transcript"][0]["meta"]["attachments"][0]["filename"] == "invoice.pdf"
    assert (await agent.call("POST", f"/api/offers/{offer['offer_id']}/accept"))[0] == 200
    status, _ = await agent.call(
        "POST", f"/api/contacts/{contact_id}/reply", {"text": "We corrected the invoice."}
    )
    assert status == 200
    reply = relay[0].messages[-1]
    assert reply["In-Reply-To"] == original and original in reply["References"]
    assert reply["Subject"] == "Re: Rechnung für Bestellung"
    assert reply["To"] == "grace@example.com"

    answer = EmailMessage()
    answer["From"] = "grace@example.com"
    answer["To"] = "support@shop.example"
    answer["Subject"] = "Re: Rechnung für Bestellung"
    answer["Message-ID"] = make_msgid(domain="example.com")
    answer["In-Reply-To"] = reply["Message-ID"]
    answer["References"] = f"{original} {reply['Message-ID']}"
    answer.set_content("Thank you!")
    await aiosmtplib.send(answer, hostname="127.0.0.1", port=gateway.smtp_port)

    async def threaded() -> bool:
        _status, thread = await agent.call("GET", f"/api/contacts/{contact_id}")
        return bool([m["body"] for m in thread["messages"]][-1] == "Thank you!")

    await eventually(threaded, 10, "the customer's answer in the same contact")
    assert (
        await agent.call(
            "POST", f"/api/contacts/{contact_id}/complete", {"disposition": "invoice_fixed"}
        )
    )[0] == 200
    row = await lifecycle(e2e_settings, contact_id)
    assert row["channel"] == "email" and row["customer_class"] == "vip"


def _email_contact(message_id: str) -> str:
    from services.gateway.email_in import contact_id_for

    return contact_id_for(message_id)


async def test_chat_socket_offer_agent_message_and_complete(
    e2e_settings: Settings,
    gateway: RunningGateway,
    agents: dict[str, AgentClient],
    http: aiohttp.ClientSession,
) -> None:
    base = f"http://127.0.0.1:{gateway.http_port}"
    async with http.get(base + "/chat/ws", headers={"Cookie": "cc_chat=nope"}) as response:
        assert response.status == 401
    browser = ChatCustomer(base)
    await browser.start(name="Visitor")
    async with browser, browser.socket() as ws:
        await ws.send_json({"type": "message", "text": "Do you ship to Norway?", "id": "m1"})
        ack = await ws.receive_json(timeout=10)
        assert ack["type"] == "ack" and ack["id"] == "m1"
        contact_id = ack["contact_id"]
        agent, offer = await offer_for(list(agents.values()), contact_id)
        assert offer["channel"] == "chat" and offer["transcript"][0]["body"].startswith("Do you")
        assert (await agent.call("POST", f"/api/offers/{offer['offer_id']}/accept"))[0] == 200
        status, _ = await agent.call(
            "POST", f"/api/contacts/{contact_id}/reply", {"text": "Yes, in 3 days."}
        )
        assert status == 200
        pushed = await ws.receive_json(timeout=10)
        assert pushed == {
            "type": "message",
            "from": "agent",
            "agent_id": agent.agent_id,
            "agent_name": agent.agent_id.title(),
            "text": "Yes, in 3 days.",
            "id": pushed["id"],
            "at": pushed["at"],
        }
        await ws.send_json({"type": "end"})
        assert (await ws.receive_json(timeout=10))["type"] == "ended"
    assert (
        await agent.call(
            "POST", f"/api/contacts/{contact_id}/complete", {"disposition": "answered"}
        )
    )[0] == 200
    row = await lifecycle(e2e_settings, contact_id)
    assert row["channel"] == "chat" and row["ended_at"] is not None
