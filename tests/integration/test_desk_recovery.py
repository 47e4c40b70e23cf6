"""The desk and the gateway against a real routing worker process, the real broker and
PostgreSQL and the Twilio-shaped REST server: offers made while no desk ran, an assignment that
arrives after the accept stopped waiting, a callback dialled out, and web chats whose customer
left without ending them. Each test has a pool of its own."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from schemas import agents as ag
from schemas.contacts import ContactAbandoned, ContactEnded
from schemas.topics import AGENT_EVENTS, CONTACTS
from services.bus import TopicReader, open_bus
from services.desk.app import running_desk
from services.desk.auth import issue_token
from services.gateway.app import RunningGateway, running_gateway
from services.gateway.chat_client import ChatCustomer
from services.runtime.broker import LocalBroker
from services.twilio_client import make_async_twilio_client
from streams.platform.settings import Settings
from tests.support.channels import OUR_NUMBER, PUBLIC_BASE, Records, channel_values, post_webhook
from tests.support.desk_client import AgentClient, offer_for
from tests.support.environment import isolated_settings
from tests.support.twilio_api import TwilioApiServer
from tests.support.workers import eventually, running_worker

pytestmark = pytest.mark.integration

SKILLS = {"billing": 5, "orders": 5, "technical": 5}


@pytest.fixture(scope="module")
async def twilio() -> AsyncIterator[TwilioApiServer]:
    async with TwilioApiServer() as server:
        yield server


@pytest.fixture(scope="module")
async def base_settings(
    broker: LocalBroker, postgres_server_url: str, twilio: TwilioApiServer
) -> Settings:
    return await isolated_settings(
        broker,
        postgres_server_url,
        **channel_values(twilio),
    )


@pytest.fixture(scope="module")
def worker(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    log = tmp_path_factory.mktemp("desk-recovery") / "worker.log"
    with running_worker(base_settings, log):
        yield log


@pytest.fixture
async def db(base_settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(base_settings.require_database_url(), min_size=1, max_size=2)
    yield pool
    await pool.close()


@asynccontextmanager
async def gateway_for(settings: Settings, pool_id: str) -> AsyncIterator[RunningGateway]:
    async with running_gateway(settings.with_values(gateway_pool_id=pool_id)) as gateway:
        yield gateway


async def new_agent(db: asyncpg.Pool, agent_id: str, pool_id: str) -> str:
    await db.execute(
        "INSERT INTO agents (agent_id, pool_id, name, skills) VALUES ($1, $2, $3, $4::jsonb)",
        agent_id,
        pool_id,
        agent_id.title(),
        '{"billing": 5, "orders": 5, "technical": 5}',
    )
    return await issue_token(db, agent_id)


async def routing_row(
    db: asyncpg.Pool, contact_id: str, status: str, timeout: float = 30
) -> dict[str, Any]:
    async def there() -> bool:
        found = await db.fetchval(
            "SELECT status FROM routing_contacts WHERE contact_id = $1", contact_id
        )
        return bool(found == status)

    await eventually(there, timeout, f"{contact_id} {status} in routing's state")
    row = await db.fetchrow("SELECT state FROM routing_contacts WHERE contact_id = $1", contact_id)
    return dict(json.loads(row["state"]))


async def sms_contact(
    http: aiohttp.ClientSession, gateway: RunningGateway, twilio: TwilioApiServer, number: str
) -> str:
    sid = "SM" + uuid.uuid4().hex
    params = {
        "AccountSid": twilio.account_sid,
        "MessageSid": sid,
        "From": number,
        "To": OUR_NUMBER,
        "Body": f"Hello from {number}",
        "NumMedia": "0",
    }
    base = f"http://127.0.0.1:{gateway.http_port}"
    assert (await post_webhook(http, base, "/twilio/sms", params, twilio.auth_token))[0] == 200
    return f"sms-{sid}"


def assignments(client: AgentClient, contact_id: str) -> list[dict[str, Any]]:
    return [
        e["assignment"]
        for e in client.events
        if e["event"] == "assignment" and e["assignment"]["contact_id"] == contact_id
    ]


async def ready(client: AgentClient) -> None:
    assert (await client.call("POST", "/api/login"))[0] == 200
    assert (await client.call("POST", "/api/state", {"state": "ready"}))[0] == 200

    async def is_ready() -> bool:
        changes = client.of("agent_state_changed")
        return bool(changes) and changes[-1]["state"] == "ready"

    await eventually(is_ready, 30, f"{client.agent_id} ready")


async def test_offers_made_while_no_desk_runs_reach_the_agent_once(
    base_settings: Settings, worker: Path, twilio: TwilioApiServer, db: asyncpg.Pool
) -> None:
    pool_id, agent_id = "p-restart", "dana"
    token = await new_agent(db, agent_id, pool_id)
    # the agent is ready in routing while no desk process runs
    async with open_bus(base_settings.kafka_bootstrap_servers, base_settings.topic_prefix) as bus:
        await bus.publish(
            AGENT_EVENTS,
            agent_id,
            ag.AgentLoggedIn(pool_id=pool_id, agent_id=agent_id, skills=SKILLS, name="Dana"),
        )
        await bus.publish(AGENT_EVENTS, agent_id, ag.AgentReady(pool_id=pool_id, agent_id=agent_id))
    async with aiohttp.ClientSession() as http, gateway_for(base_settings, pool_id) as gateway:
        first = await sms_contact(http, gateway, twilio, "+15550300001")
        state = await routing_row(db, first, "offered")
        assert state["agent_id"] == agent_id

        async with running_desk(base_settings) as desk:
            base = f"http://127.0.0.1:{desk.port}"
            dana = await AgentClient(http, base, agent_id, token).start()
            _, offer = await offer_for([dana], first, timeout=10)
            assert offer["offer_id"] == state["offer_id"]
            assert offer["channel"] == "sms" and offer["transcript"][0]["body"].startswith("Hello")
            status, body = await dana.call("POST", f"/api/offers/{offer['offer_id']}/accept")
            assert status == 200 and body["status"] == "assigned"
            await dana.stop()

            # offered while the desk runs but the agent is away: the desk saw it on the topic
            # and routing's rows have it; shown once on the next connect
            second = await sms_contact(http, gateway, twilio, "+15550300002")
            second_offer = (await routing_row(db, second, "offered"))["offer_id"]

            async def seen_live() -> bool:
                return second_offer in desk.desk.hub.pops

            await eventually(seen_live, 15, "the desk sees the second offer on the topic")
            dana = await AgentClient(http, base, agent_id, token).start()
            await offer_for([dana], second, timeout=10)
            await eventually(lambda: _true(assignments(dana, first)), 10, "the assignment")
            await dana.call("GET", "/api/me")  # give a duplicate time to show up
            assert len(dana.offers(second)) == 1 and not dana.offers(first)
            assert len(assignments(dana, first)) == 1
            await dana.stop()

        async with running_desk(base_settings) as desk:  # a restarted desk
            dana = await AgentClient(http, f"http://127.0.0.1:{desk.port}", agent_id, token).start()
            _, offer = await offer_for([dana], second, timeout=10)
            [assigned] = assignments(dana, first)
            assert assigned["channel"] == "sms" and assigned["customer"]["phone"] == "+15550300001"
            assert len(dana.offers(second)) == 1
            status, body = await dana.call("POST", f"/api/offers/{offer['offer_id']}/accept")
            assert status == 200 and body["status"] == "assigned"
            status, _ = await dana.call("POST", f"/api/contacts/{first}/reply", {"text": "On it."})
            assert status == 200
            await dana.stop()


async def _true(value: object) -> bool:
    return bool(value)


async def inbound_call(
    settings: Settings,
    http: aiohttp.ClientSession,
    gateway: RunningGateway,
    twilio: TwilioApiServer,
    caller: str,
) -> tuple[str, dict[str, str]]:
    """A live inbound call through the IVR into the queue; its CallSid and webhook params."""
    client = make_async_twilio_client(settings)
    try:
        call = await client.calls.create_async(to=OUR_NUMBER, from_=caller, twiml="<Response/>")
    finally:
        await client.http_client.close()
    twilio.calls[call.sid]["status"] = "in-progress"
    params = {
        "AccountSid": twilio.account_sid,
        "CallSid": call.sid,
        "From": caller,
        "To": OUR_NUMBER,
        "CallStatus": "in-progress",
        "Direction": "inbound",
    }
    base = f"http://127.0.0.1:{gateway.http_port}"
    token = twilio.auth_token
    assert (await post_webhook(http, base, "/twilio/voice", params, token))[0] == 200
    status, twiml = await post_webhook(
        http, base, "/twilio/voice/menu", {**params, "Digits": "2"}, token
    )
    assert status == 200 and "<Redirect" in twiml
    return str(call.sid), params


def call_updates(twilio: TwilioApiServer, sid: str) -> list[dict[str, str]]:
    return [
        r.form
        for r in twilio.requests
        if r.method == "POST" and r.path.endswith(f"/Calls/{sid}.json") and r.authorized
    ]


async def test_an_assignment_after_the_accept_wait_connects_the_call_once(
    base_settings: Settings, worker: Path, twilio: TwilioApiServer, db: asyncpg.Pool
) -> None:
    pool_id, agent_id = "p-late", "erin"
    token = await new_agent(db, agent_id, pool_id)
    settings = base_settings.with_values(desk_accept_wait_seconds=0.0)  # never waits long enough
    async with (
        aiohttp.ClientSession() as http,
        gateway_for(base_settings, pool_id) as gateway,
        running_desk(settings) as desk,
    ):
        erin = await AgentClient(http, f"http://127.0.0.1:{desk.port}", agent_id, token).start()
        await ready(erin)
        sid, _params = await inbound_call(settings, http, gateway, twilio, "+15550300010")
        contact_id = f"call-{sid}"
        _, offer = await offer_for([erin], contact_id)
        status, body = await erin.call("POST", f"/api/offers/{offer['offer_id']}/accept")
        assert status == 202 and body["status"] == "pending"

        async def connected() -> bool:
            return bool(call_updates(twilio, sid))

        await eventually(connected, 15, "the call connected when the assignment arrived")
        assert erin.of("contact_assigned", offer_id=offer["offer_id"])
        [update] = call_updates(twilio, sid)
        assert "<Client>erin</Client>" in update["Twiml"]
        # asking again answers from the assignment and does not connect the call again
        status, body = await erin.call("POST", f"/api/offers/{offer['offer_id']}/accept")
        assert status == 200 and body["status"] == "assigned" and body["call_sid"] == sid
        assert len(call_updates(twilio, sid)) == 1
        await erin.stop()


async def test_an_accepted_callback_dials_the_customer(
    base_settings: Settings, worker: Path, twilio: TwilioApiServer, db: asyncpg.Pool
) -> None:
    pool_id, agent_id, caller = "p-callback", "fay", "+15550300020"
    token = await new_agent(db, agent_id, pool_id)
    async with (
        aiohttp.ClientSession() as http,
        gateway_for(base_settings, pool_id) as gateway,
        running_desk(base_settings) as desk,
    ):
        fay = await AgentClient(http, f"http://127.0.0.1:{desk.port}", agent_id, token).start()
        assert (await fay.call("POST", "/api/login"))[0] == 200  # logged in, not ready yet
        sid, params = await inbound_call(base_settings, http, gateway, twilio, caller)
        contact_id = f"call-{sid}"
        base = f"http://127.0.0.1:{gateway.http_port}"
        token_ = twilio.auth_token
        status, twiml = await post_webhook(
            http, base, "/twilio/voice/hold", {**params, "Digits": "1"}, token_
        )
        assert status == 200 and "<Hangup" in twiml
        await eventually(
            lambda: _callback_flag(db, contact_id), 15, "routing knows about the callback"
        )
        hangup = {**params, "CallStatus": "completed", "CallDuration": "12"}
        assert (await post_webhook(http, base, "/twilio/voice/status", hangup, token_))[0] == 204
        twilio.calls[sid]["status"] = "completed"

        await ready(fay)
        _, offer = await offer_for([fay], contact_id)
        assert offer["callback"] is True and "call" in offer["suggested_next_step"].lower()
        before = len(twilio.calls)
        status, body = await fay.call("POST", f"/api/offers/{offer['offer_id']}/accept")
        assert status == 200 and body["status"] == "assigned", body
        assert body["call_sid"] != sid and len(twilio.calls) == before + 1
        placed = twilio.calls[body["call_sid"]]["_form"]
        assert (placed["To"], placed["From"]) == (caller, OUR_NUMBER)
        assert "<Client>fay</Client>" in placed["Twiml"]
        assert not call_updates(twilio, sid)  # the finished inbound call is left alone
        status_url = f"{PUBLIC_BASE}/twilio/voice/status?callback_for={contact_id}"
        assert placed["StatusCallback"] == status_url
        # the dialled call ends: Twilio calls its status callback; the contact goes to wrap-up
        ended = {
            **params,
            "CallSid": body["call_sid"],
            "From": OUR_NUMBER,
            "To": caller,
            "Direction": "outbound-api",
            "CallStatus": "completed",
            "CallDuration": "95",
        }
        path = f"/twilio/voice/status?callback_for={contact_id}"
        assert (await post_webhook(http, base, path, ended, token_))[0] == 204
        await routing_row(db, contact_id, "wrap_up")
        conversation = await gateway.ctx.conversations.get(contact_id)
        assert conversation is not None and conversation.status == "closed"
        status, _ = await fay.call(
            "POST", f"/api/contacts/{contact_id}/complete", {"disposition": "called_back"}
        )
        assert status == 200
        await fay.stop()


async def _callback_flag(db: asyncpg.Pool, contact_id: str) -> bool:
    state = await db.fetchval(
        "SELECT state FROM routing_contacts WHERE contact_id = $1", contact_id
    )
    return bool(state and json.loads(state).get("callback"))


async def chat_contact(browser: ChatCustomer, text: str) -> str:
    await browser.start()
    async with browser.socket() as ws:
        await ws.send_json({"type": "message", "text": text, "id": "1"})
        ack = await ws.receive_json(timeout=10)
    # closed without "end"
    assert ack["type"] == "ack"
    return str(ack["contact_id"])


async def test_chats_left_without_end_are_abandoned_or_ended_once_after_the_grace(
    base_settings: Settings, worker: Path, twilio: TwilioApiServer, db: asyncpg.Pool
) -> None:
    pool_id, agent_id, grace = "p-chat", "gus", 1.5
    token = await new_agent(db, agent_id, pool_id)
    settings = base_settings.with_values(chat_reconnect_grace_seconds=grace)
    reader = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix, [CONTACTS])
    async with (
        aiohttp.ClientSession() as http,
        gateway_for(settings, pool_id) as gateway,
        running_desk(settings) as desk,
        reader,
    ):
        records = Records(reader)
        gus = await AgentClient(http, f"http://127.0.0.1:{desk.port}", agent_id, token).start()
        assert (await gus.call("POST", "/api/login"))[0] == 200  # not ready: chats wait
        await eventually(lambda: _true(gus.of("agent_state_changed")), 30, "routing has gus")
        base = f"http://127.0.0.1:{gateway.http_port}"

        kept_browser, left_browser = ChatCustomer(base), ChatCustomer(base)
        kept = await chat_contact(kept_browser, "I will reload the page")
        # a reload: the socket closes and the customer is back within the grace period
        await kept_browser.resume()
        async with kept_browser, left_browser, kept_browser.socket() as ws:
            assert (await ws.receive_json(timeout=10))["type"] == "history"
            left = await chat_contact(left_browser, "Anyone there?")  # never comes back
            [abandoned] = await records.wait_for(ContactAbandoned, contact_id=left, timeout=15)
            assert abandoned.event_id == f"{left}:abandoned"
            await asyncio.sleep(grace + 0.5)  # past the grace of the first socket's close
            await records.poll()
            assert not records.of(ContactAbandoned, contact_id=kept)
            resumed = await gateway.ctx.conversations.get(kept)
            assert resumed is not None and resumed.status == "open"

            await ready(gus)
            _, offer = await offer_for([gus], kept)
            status, _ = await gus.call("POST", f"/api/offers/{offer['offer_id']}/accept")
            assert status == 200
            await routing_row(db, kept, "assigned")
        # the customer closes the tab and does not come back: the assigned chat ends
        [ended] = await records.wait_for(ContactEnded, contact_id=kept, timeout=15)
        assert ended.reason == "customer_left"
        await routing_row(db, kept, "wrap_up")
        conversation = await gateway.ctx.conversations.get(kept)
        assert conversation is not None and conversation.status == "closed"
        await asyncio.sleep(grace + 0.5)  # more sweeps publish nothing more
        await records.poll()
        assert len(records.of(ContactAbandoned, contact_id=left)) == 1
        assert len(records.of(ContactEnded, contact_id=kept)) == 1
        assert not records.of(ContactEnded, contact_id=left)
        assert not records.of(ContactAbandoned, contact_id=kept)
        assert (
            await db.fetchval("SELECT count(*) FROM routing_contacts WHERE contact_id = $1", left)
            == 0
        )
        status, _ = await gus.call(
            "POST", f"/api/contacts/{kept}/complete", {"disposition": "customer_left"}
        )
        assert status == 200
        await gus.stop()
