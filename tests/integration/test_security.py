"""The claims of docs/security.md, each against the real services (broker, PostgreSQL, HTTP)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest

from schemas import contacts as ct
from schemas.routing import OfferMade
from schemas.topics import AGENT_EVENTS, CONTACTS, OFFERS
from services.bus import TopicReader, open_bus
from services.desk.app import RunningDesk, running_desk
from services.desk.auth import issue_token
from services.gateway.app import RunningGateway, running_gateway
from services.gateway.chat_client import ChatCustomer
from services.runtime.broker import LocalBroker, free_port
from services.runtime.processes import kill, start_command
from streams.platform.settings import Settings
from tests.support.channels import PUBLIC_BASE, Records, post_webhook
from tests.support.desk_client import AgentClient
from tests.support.environment import isolated_settings
from tests.support.workers import eventually

pytestmark = pytest.mark.integration

TOKEN = "security-test-twilio-token"
CALLER = "+15550300001"


@pytest.fixture(scope="module")
async def sec_settings(broker: LocalBroker, postgres_server_url: str) -> Settings:
    return await isolated_settings(
        broker,
        postgres_server_url,
        twilio_auth_token=TOKEN,
        public_base_url=PUBLIC_BASE,
        gateway_port=0,
        smtp_port=0,
        desk_port=0,
        notifier_port=0,
    )


@pytest.fixture(scope="module")
async def gateway(sec_settings: Settings) -> AsyncIterator[RunningGateway]:
    async with running_gateway(sec_settings) as running:
        yield running


@pytest.fixture(scope="module")
async def contacts(sec_settings: Settings) -> AsyncIterator[Records]:
    reader = TopicReader(
        sec_settings.kafka_bootstrap_servers, sec_settings.topic_prefix, [CONTACTS]
    )
    async with reader:
        yield Records(reader)


def call(sid: str, **extra: str) -> dict[str, str]:
    return {"CallSid": sid, "From": CALLER, "To": "+15559990000", "Digits": "0", **extra}


# ------------------------------------------------------------------ Twilio webhooks
@pytest.mark.parametrize("command", ["gateway", "notifier"])
def test_a_service_without_a_twilio_token_refuses_to_start(
    command: str, sec_settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / f"{command}.log"
    process = start_command(
        command,
        sec_settings.with_values(twilio_auth_token=""),
        log,
        notifier_metrics_port=free_port(),
    )
    try:
        code = process.wait(timeout=20)
    finally:
        kill(process)
    output = log.read_text()
    assert code != 0
    assert "CC_TWILIO_AUTH_TOKEN" in output and "CC_ALLOW_UNSIGNED_WEBHOOKS" in output
    assert "Traceback" not in output  # a clear message, not a crash


async def test_unsigned_webhooks_only_with_the_development_flag_and_a_warning(
    sec_settings: Settings, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    development = sec_settings.with_values(
        twilio_auth_token="", allow_unsigned_webhooks_for_development=True
    )
    with caplog.at_level(logging.WARNING):
        async with running_gateway(development) as running:
            base = f"http://127.0.0.1:{running.http_port}"
            async with http.post(base + "/twilio/voice", data=call("CA-dev")) as response:
                assert response.status == 200
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("UNSIGNED" in r.getMessage() for r in warnings)


async def test_a_forged_signature_gets_403_and_publishes_nothing(
    gateway: RunningGateway, http: aiohttp.ClientSession, contacts: Records
) -> None:
    base = f"http://127.0.0.1:{gateway.http_port}"
    params = call("CA-forged")
    for key in ("", "another-accounts-token"):
        status, _ = await post_webhook(http, base, "/twilio/voice/menu", params, key)
        assert status == 403
    async with http.post(base + "/twilio/voice/menu", data=params) as response:
        assert response.status == 403  # no signature at all
    status, _ = await post_webhook(http, base, "/twilio/voice/menu", call("CA-real"), TOKEN)
    assert status == 200
    await contacts.wait_for(ct.ContactArrived, contact_id="call-CA-real")
    assert not [r for r in contacts.all if getattr(r, "contact_id", "") == "call-CA-forged"]


# ------------------------------------------------------------------ desk tokens
@pytest.fixture(scope="module")
async def desk(sec_settings: Settings) -> AsyncIterator[RunningDesk]:
    async with running_desk(sec_settings.with_values(desk_accept_wait_seconds=0.1)) as running:
        yield running


@pytest.fixture(scope="module")
async def tokens(desk: RunningDesk, sec_settings: Settings) -> dict[str, str]:
    """ann holds an offer and an assigned SMS contact; ben holds nothing."""
    pool = desk.desk.pool
    issued = {agent: await issue_token(pool, agent, "p1") for agent in ("ann", "ben")}
    await pool.execute(
        "INSERT INTO channel_conversations (contact_id, pool_id, channel, address)"
        " VALUES ('c-ann', 'p1', 'sms', '+15550300009')"
    )
    await pool.execute(
        "INSERT INTO channel_messages (message_id, contact_id, direction, author, body)"
        " VALUES ('m-ann', 'c-ann', 'in', '+15550300009', 'my card ends 4242')"
    )
    await pool.execute(
        "INSERT INTO contacts (contact_id, pool_id, agent_id, answered_at)"
        " VALUES ('c-ann', 'p1', 'ann', now())"
    )
    offer = OfferMade(
        pool_id="p1",
        cause_event_id="sec",
        offer_id="c-offer:1",
        contact_id="c-offer",
        agent_id="ann",
        attempt=1,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    async with open_bus(sec_settings.kafka_bootstrap_servers, sec_settings.topic_prefix) as bus:
        await bus.publish(OFFERS, "ann", offer)

    async def seen() -> bool:
        return "c-offer:1" in desk.desk.hub.offers

    await eventually(seen, 15, "ann's offer on the desk")
    return issued


async def test_an_agents_token_reaches_only_that_agents_offers_and_contacts(
    desk: RunningDesk, tokens: dict[str, str], sec_settings: Settings
) -> None:
    base = f"http://127.0.0.1:{desk.port}"
    async with aiohttp.ClientSession() as http:
        ben = await AgentClient(http, base, "ben", tokens["ben"]).start()
        ann = await AgentClient(http, base, "ann", tokens["ann"]).start()
        try:
            for method, path, body in (
                ("POST", "/api/offers/c-offer:1/accept", None),
                ("POST", "/api/offers/c-offer:1/reject", {"reason": "not mine"}),
                ("GET", "/api/contacts/c-ann", None),
                ("POST", "/api/contacts/c-ann/reply", {"text": "hello from ben"}),
                ("POST", "/api/contacts/c-ann/complete", {"disposition": "stolen"}),
            ):
                status, answer = await ben.call(method, path, body)
                assert status == 403, (path, answer)
                assert "4242" not in json.dumps(answer)
            status, answer = await ann.call("GET", "/api/contacts/c-ann")
            assert status == 200 and answer["messages"][0]["body"] == "my card ends 4242"

            async def offered() -> bool:
                return bool(ann.offers("c-offer"))

            await eventually(offered, 10, "ann's offer on her stream")
            assert not ben.offers()  # ann's offer never reaches ben's stream
        finally:
            await ben.stop()
            await ann.stop()
    reader = TopicReader(
        sec_settings.kafka_bootstrap_servers, sec_settings.topic_prefix, [AGENT_EVENTS, CONTACTS]
    )
    async with reader:
        records = Records(reader)
        await records.poll()
        await records.poll()
        assert not [r for r in records.all if getattr(r, "agent_id", None) == "ben"]


# ------------------------------------------------------------------ secrets, ops endpoints
async def test_secrets_never_reach_the_logs_or_the_ops_endpoints(
    sec_settings: Settings, tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    url = urlsplit(sec_settings.require_database_url())
    host = url.netloc.rpartition("@")[2]
    password = "pg-s3cret-pw"
    database_url = urlunsplit(
        url._replace(netloc=f"{url.username or 'postgres'}:{password}@{host}")
    )
    settings = sec_settings.with_values(database_url=database_url)
    desk_token = tokens["ann"]
    with caplog.at_level(logging.DEBUG):
        async with (
            running_gateway(settings) as gateway,
            running_desk(settings) as desk,
            aiohttp.ClientSession() as http,
        ):
            gw = f"http://127.0.0.1:{gateway.http_port}"
            dk = f"http://127.0.0.1:{desk.port}"
            await post_webhook(http, gw, "/twilio/voice", call("CA-log"), TOKEN)
            await post_webhook(http, gw, "/twilio/voice", call("CA-log"), "forged")
            async with http.get(f"{dk}/api/me", headers={"Authorization": f"Bearer {desk_token}"}):
                pass
            async with http.get(f"{dk}/api/me?token={desk_token}x"):
                pass
            pages = []
            for base in (gw, dk):
                for path in ("/metrics", "/healthz", "/readyz"):
                    async with http.get(base + path) as response:  # no credentials needed
                        assert response.status == 200
                        pages.append(await response.text())
    assert len(caplog.records) > 0
    for text in [caplog.text, *pages]:
        for secret in (TOKEN, password, desk_token):
            assert secret not in text


# ------------------------------------------------------------------ web chat
# (who may read, write and end a chat: tests/integration/test_chat_identity.py)
async def test_chat_secrets_are_stored_as_hashes_and_required_for_the_socket(
    gateway: RunningGateway, http: aiohttp.ClientSession, sec_settings: Settings
) -> None:
    base = f"http://127.0.0.1:{gateway.http_port}"
    async with ChatCustomer(base) as browser:
        answer = await browser.start(name="Eve")
        secret = browser.secret()
    assert secret and secret not in json.dumps(answer)
    row = await gateway.ctx.conversations.pool.fetchrow(
        "SELECT * FROM chat_sessions WHERE name = 'Eve'"
    )
    assert row is not None and secret not in json.dumps(dict(row), default=str)
    for query in ("", "?token=" + secret):  # a secret in the URL opens nothing
        async with http.get(base + "/chat/ws" + query) as response:
            assert response.status == 401
    for cookie in ("", secret + "x"):
        async with http.get(base + "/chat/ws", headers={"Cookie": f"cc_chat={cookie}"}) as answer:
            assert answer.status == 401
