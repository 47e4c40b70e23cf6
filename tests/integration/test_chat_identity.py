"""Who may read, write and end a web chat (docs/security.md, "Web chat"), on the real broker and
PostgreSQL: only the browser that holds the session's secret; a known customer only through the
embedding site's signed identity."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr

from schemas import contacts as ct
from schemas.topics import CONTACTS
from services.bus import TopicReader
from services.gateway.app import RunningGateway, running_gateway
from services.gateway.chat_client import ChatCustomer
from services.gateway.chat_sessions import identity_hash
from services.runtime.broker import LocalBroker
from streams.platform.settings import Settings
from tests.support.channels import Records, seed_customer
from tests.support.environment import isolated_settings

pytestmark = pytest.mark.integration

SITE_SECRET = "shop-site-identity-secret"


@pytest.fixture(scope="module")
async def chat_settings(broker: LocalBroker, postgres_server_url: str) -> Settings:
    settings = await isolated_settings(
        broker,
        postgres_server_url,
        twilio_auth_token="chat-identity-twilio",
        gateway_port=0,
        smtp_port=0,
        chat_identity_secret=SecretStr(SITE_SECRET),
        chat_session_rotation_grace_seconds=1.0,
        chat_allowed_origins=["https://shop.example"],
    )
    await seed_customer(
        settings.require_database_url(),
        customer_id="vip-ada",
        name="Ada",
        tier="vip",
        email="ada@example.com",
        chat_id="ada-chat",
    )
    return settings


@pytest.fixture(scope="module")
async def gateway(chat_settings: Settings) -> AsyncIterator[RunningGateway]:
    async with running_gateway(chat_settings) as running:
        yield running


@pytest.fixture(scope="module")
async def contacts(chat_settings: Settings) -> AsyncIterator[Records]:
    reader = TopicReader(
        chat_settings.kafka_bootstrap_servers, chat_settings.topic_prefix, [CONTACTS]
    )
    async with reader:
        yield Records(reader)


def url(gateway: RunningGateway) -> str:
    return f"http://127.0.0.1:{gateway.http_port}"


async def say(browser: ChatCustomer, text: str, frame_id: str) -> dict[str, object]:
    """Send one message on a new socket; the ack."""
    async with browser.socket() as ws:
        await ws.send_json({"type": "message", "text": text, "id": frame_id})
        while True:
            frame: dict[str, object] = await ws.receive_json(timeout=10)
            if frame.get("type") == "ack":
                return frame


async def test_the_cookie_is_http_only_and_the_answer_carries_no_secret(
    gateway: RunningGateway, http: aiohttp.ClientSession
) -> None:
    async with http.post(url(gateway) + "/chat/sessions", json={"name": "Kim"}) as answer:
        assert answer.status == 200
        body = await answer.json()
        cookie = answer.cookies["cc_chat"]
    assert set(body) == {"session_id", "known"} and body["known"] is False
    assert cookie["httponly"] and cookie["path"] == "/chat"
    assert cookie["samesite"] == "Strict"
    assert cookie.value not in str(body)


async def test_a_second_browser_that_knows_the_chat_id_gets_nothing(
    gateway: RunningGateway, http: aiohttp.ClientSession, contacts: Records
) -> None:
    base = url(gateway)
    async with ChatCustomer(base) as customer, ChatCustomer(base) as intruder:
        await customer.start(name="Lee")
        async with customer.socket() as ws:
            await ws.send_json({"type": "message", "text": "My account is 12345678", "id": "1"})
            ack = await ws.receive_json(timeout=10)
            contact_id = ack["contact_id"]
            chat_id = await gateway.ctx.conversations.pool.fetchval(
                "SELECT address FROM channel_conversations WHERE contact_id = $1", contact_id
            )
            # the intruder knows the chat id (say, from a shared screenshot): it opens nothing
            async with intruder.http.post(
                base + "/chat/sessions", json={"chat_id": chat_id}
            ) as answer:
                assert answer.status == 400 and "chat_id is not accepted" in await answer.text()
            for method, path in (
                ("GET", "/chat/ws"),
                ("POST", "/chat/session/resume"),
                ("DELETE", "/chat/session"),
            ):
                async with intruder.http.request(method, base + path) as answer:
                    assert answer.status == 401, (method, path)
            # its own session is a chat of its own: no history, writes do not reach Lee's
            await intruder.start(name="Mallory")
            async with intruder.socket() as other:
                await other.send_json({"type": "message", "text": "read me", "id": "1"})
                theirs = await other.receive_json(timeout=10)
                await other.send_json({"type": "end"})
                assert (await other.receive_json(timeout=10))["type"] == "ended"
            assert theirs["type"] == "ack" and theirs["contact_id"] != contact_id
            # the customer's chat goes on: still open, and only the customer's words in it
            await ws.send_json({"type": "status"})
            assert (await ws.receive_json(timeout=10))["state"] != "none"
    messages = await gateway.ctx.conversations.messages(contact_id)
    assert [m.body for m in messages] == ["My account is 12345678"]
    await contacts.wait_for(ct.ContactArrived, contact_id=contact_id)
    assert not contacts.of(ct.ContactEnded, contact_id=contact_id)


async def test_a_known_customer_only_through_the_sites_signature(
    gateway: RunningGateway, http: aiohttp.ClientSession, contacts: Records
) -> None:
    base = url(gateway)
    for body, status in (
        ({"customer_id": "vip-ada"}, 403),
        ({"customer_id": "vip-ada", "identity_hash": "0" * 64}, 403),
        ({"customer_id": "vip-ada", "identity_hash": identity_hash("guess", "vip-ada")}, 403),
    ):
        async with http.post(base + "/chat/sessions", json=body) as answer:
            assert answer.status == status and "identity" in await answer.text()
    # typing a VIP's e-mail into the pre-chat form makes nobody a VIP
    async with ChatCustomer(base) as visitor:
        assert (await visitor.start(name="Ada?", email="ada@example.com"))["known"] is False
        ack = await say(visitor, "hi", "1")
    [arrived] = await contacts.wait_for(ct.ContactArrived, contact_id=ack["contact_id"])
    assert arrived.customer_class == "standard" and arrived.customer.customer_id is None
    assert arrived.customer.email is None
    # signed by the site: Ada, routed as VIP, her chat
    async with ChatCustomer(base) as ada:
        started = await ada.start(customer_id="vip-ada", site_secret=SITE_SECRET)
        assert started["known"] is True
        ack = await say(ada, "hello, it's Ada", "1")
    [arrived] = await contacts.wait_for(ct.ContactArrived, contact_id=ack["contact_id"])
    assert arrived.customer_class == "vip" and arrived.customer.customer_id == "vip-ada"


async def test_the_secret_rotates_on_resume_and_idle_sessions_expire(
    gateway: RunningGateway, http: aiohttp.ClientSession, chat_settings: Settings
) -> None:
    base = url(gateway)
    async with ChatCustomer(base) as browser:
        await browser.start(name="Noor")
        first = browser.secret()
        resumed = await browser.resume()
        second = browser.secret()
        assert first and second and first != second and resumed["open"] is False
        headers = {"Cookie": f"cc_chat={first}"}
        async with http.post(base + "/chat/session/resume", headers=headers) as answer:
            assert answer.status == 200  # a second tab, within the rotation grace
        await asyncio.sleep(chat_settings.chat_session_rotation_grace_seconds + 0.5)
        async with http.get(base + "/chat/ws", headers=headers) as answer:
            assert answer.status == 401  # the secret before the rotation is gone
        # idle longer than chat_session_idle_hours: the session is over
        await gateway.ctx.conversations.pool.execute(
            "UPDATE chat_sessions SET last_seen_at = now() - make_interval(hours => $1 + 1)"
            " WHERE name = 'Noor'",
            int(chat_settings.chat_session_idle_hours),
        )
        async with browser.http.post(base + "/chat/session/resume") as answer:
            assert answer.status == 401 and "expired" in await answer.text()


async def test_ending_needs_the_secret_and_signing_out_ends_the_session(
    gateway: RunningGateway, http: aiohttp.ClientSession, contacts: Records
) -> None:
    base = url(gateway)
    async with ChatCustomer(base) as browser:
        await browser.start(name="Ola")
        secret = browser.secret()
        async with browser.socket() as ws:
            await ws.send_json({"type": "message", "text": "bye soon", "id": "1"})
            contact_id = (await ws.receive_json(timeout=10))["contact_id"]
            await ws.send_json({"type": "end"})
            assert (await ws.receive_json(timeout=10)) == {"type": "ended", "by": "customer"}
        await contacts.wait_for(ct.ContactEnded, contact_id=contact_id)
        async with browser.http.delete(base + "/chat/session") as answer:
            assert answer.status == 204
        async with http.get(base + "/chat/ws", headers={"Cookie": f"cc_chat={secret}"}) as answer:
            assert answer.status == 401


async def test_a_page_of_another_site_cannot_use_the_session(
    gateway: RunningGateway, http: aiohttp.ClientSession
) -> None:
    base = url(gateway)
    async with http.post(
        base + "/chat/sessions", json={}, headers={"Origin": "https://evil.example"}
    ) as answer:
        assert answer.status == 403 and "origin" in await answer.text()
    async with http.post(
        base + "/chat/sessions", json={}, headers={"Origin": "https://shop.example"}
    ) as answer:
        assert answer.status == 200  # an embedding site that is configured
