"""The agent desk page and the chat page in headless Chromium, against a real gateway, desk,
routing worker, broker, PostgreSQL, Twilio-shaped API and SMTP relay: a chat accepted and
answered both ways with follow-ups live on the desk, an SMS thread live likewise, an offer
whose countdown runs out, wrap-up with a disposition code, the customer told when the agent
ends, the desk down and back (banner, then the conversation restored), and the gateway stopping
mid-message without losing what the page showed as sent. Screenshots of each page at desktop
and phone size go to a temporary folder, or to the one given with ``--screenshots``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiohttp
import aiosmtplib
import asyncpg
import pytest
from pydantic import SecretStr

from services.desk.app import running_desk
from services.desk.auth import issue_token
from services.gateway.app import running_gateway
from services.gateway.chat_client import ChatCustomer
from services.gateway.chat_sessions import identity_hash
from services.gateway.email_in import contact_id_for
from services.runtime.broker import LocalBroker, free_port
from streams.platform.settings import Settings
from tests.support.browser import Browser, chromium_path
from tests.support.channels import (
    OUR_NUMBER,
    Relay,
    channel_values,
    lifecycle,
    post_webhook,
    seed_customer,
    smtp_relay,
)
from tests.support.environment import isolated_settings
from tests.support.twilio_api import TwilioApiServer
from tests.support.workers import running_worker

pytestmark = pytest.mark.e2e

DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SHOTS = DOCS_SHOTS  # set per run by _screenshots: a temporary folder unless --screenshots


@pytest.fixture(autouse=True, scope="module")
def _screenshots(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The pages are photographed in every run; into docs/ only when asked
    (``pytest tests/e2e/test_desk_pages_e2e.py --screenshots docs/screenshots``)."""
    global SHOTS
    chosen = request.config.getoption("--screenshots")
    SHOTS = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")


DESKTOP, PHONE = (1280, 800), (390, 844)
VIP_PHONE = "+15550300001"
SITE_SECRET = "page-test-site-secret"  # the shop's key for signed chat identities


def q(selector: str) -> str:
    """JavaScript for the first element matching ``selector``."""
    return f"document.querySelector({selector!r})"


class Restartable:
    """A service (desk, gateway) a test can stop and start again on the same port."""

    def __init__(self, make: Callable[[], AbstractAsyncContextManager[Any]]) -> None:
        self.make = make
        self.stack: contextlib.AsyncExitStack | None = None
        self.running: Any = None  # what the service's context yields (e.g. its SMTP port)

    async def start(self) -> None:
        self.stack = contextlib.AsyncExitStack()
        self.running = await self.stack.enter_async_context(self.make())

    async def stop(self) -> None:
        if self.stack is not None:
            await self.stack.aclose()
            self.stack = None


@pytest.fixture(scope="module")
async def twilio() -> AsyncIterator[TwilioApiServer]:
    async with TwilioApiServer() as server:
        yield server


@pytest.fixture(scope="module")
async def relay() -> AsyncIterator[tuple[Relay, int]]:
    async with smtp_relay() as running:
        yield running


@pytest.fixture(scope="module")
async def page_settings(
    broker: LocalBroker, postgres_server_url: str, twilio: TwilioApiServer, relay: tuple[Relay, int]
) -> Settings:
    values = channel_values(twilio)
    values.update(
        offer_timeout_seconds=6.0,  # the countdown test waits for one to run out
        desk_port=free_port(),
        gateway_port=free_port(),
        smtp_relay_port=relay[1],
        support_email="support@shop.example",
        chat_greeting="Hi! Ask us anything about your order.",
        chat_business_hours="Mon-Fri 08:00-18:00 CET",
        chat_identity_secret=SecretStr(SITE_SECRET),
    )
    settings = await isolated_settings(broker, postgres_server_url, **values)
    url = settings.require_database_url()
    await seed_customer(
        url,
        customer_id="vip-7",
        name="Grace Hopper",
        tier="vip",
        phone=VIP_PHONE,
        email="grace@example.com",
        chat_id="grace",
    )
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "INSERT INTO customer_flags (customer_id, flag_id, kind, text, compensation,"
            " shipment_id) VALUES ('vip-7', 'shipment_delay:S7', 'shipment_delay',"
            ' \'Order O-77 is 3 days late\', \'{"percent": 20, "text": "20% off your next'
            " order\"}'::jsonb, 'S7')"
        )
        await connection.execute(
            "INSERT INTO agents (agent_id, pool_id, name, skills) VALUES"
            " ('dana', 'default', 'Dana', '{\"billing\": 5, \"orders\": 5}'::jsonb)"
        )
    finally:
        await connection.close()
    return settings


@pytest.fixture(scope="module")
def worker(page_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with running_worker(page_settings, tmp_path_factory.mktemp("pages") / "worker.log"):
        yield


@pytest.fixture(scope="module")
async def desk(page_settings: Settings, worker: None) -> AsyncIterator[Restartable]:
    service = Restartable(lambda: running_desk(page_settings))
    await service.start()
    yield service
    await service.stop()


@pytest.fixture(scope="module")
async def gateway(page_settings: Settings, worker: None) -> AsyncIterator[Restartable]:
    service = Restartable(lambda: running_gateway(page_settings))
    await service.start()
    yield service
    await service.stop()


@pytest.fixture(scope="module")
async def chromium() -> str:
    executable = await asyncio.to_thread(chromium_path)
    if executable is None:
        pytest.skip(
            "chromium is not installed and scripts/install-test-deps.sh could not install it"
        )
    return executable


@pytest.fixture(scope="module")
async def desk_page(
    page_settings: Settings, desk: Restartable, chromium: str
) -> AsyncIterator[Browser]:
    """The desk page signed in as Dana (through the form: the token never is in a URL), ready."""
    pool = await asyncpg.create_pool(page_settings.require_database_url(), min_size=1, max_size=1)
    token = await issue_token(pool, "dana")
    await pool.close()
    async with Browser(chromium) as browser:
        await browser.viewport(*DESKTOP)
        await browser.goto(f"http://127.0.0.1:{page_settings.desk_port}/")
        await browser.sign_in_to_desk(token)
        assert "token" not in await browser.evaluate("location.href")
        await browser.wait_for("document.body.dataset.state === 'not_ready'", 30)
        # only the valid state change is offered
        assert await browser.evaluate(f"{q('#notready')}.disabled && !{q('#ready')}.disabled")
        await browser.evaluate(f"{q('#ready')}.click()")
        await browser.wait_for("document.body.dataset.state === 'ready'", 30)
        assert await browser.evaluate(f"{q('#ready')}.disabled && !{q('#notready')}.disabled")
        assert await browser.evaluate(f"/^0:\\d\\d$/.test({q('#state-timer')}.textContent)")
        yield browser


@pytest.fixture(scope="module")
async def chat_page(
    page_settings: Settings, gateway: Restartable, chromium: str
) -> AsyncIterator[Browser]:
    async with Browser(chromium) as browser:
        yield browser


async def chat_open(browser: Browser, settings: Settings, query: str = "") -> None:
    """A new visitor: no session cookie, nothing in the page's storage."""
    await browser.evaluate("try { sessionStorage.clear() } catch {}")
    await browser.send("Network.clearBrowserCookies")
    await browser.goto(f"http://127.0.0.1:{settings.gateway_port}/chat{query}")
    await browser.wait_for(
        "document.body.dataset.phase === 'prechat' || document.body.dataset.phase === 'new'"
    )


async def chat_open_as(browser: Browser, settings: Settings, customer_id: str) -> None:
    """A signed-in customer of the shop: the site posts its signed identity into the page
    (as an embedding page does from its own origin), then the customer starts the chat."""
    await chat_open(browser, settings)
    signed = {"customer_id": customer_id, "identity_hash": identity_hash(SITE_SECRET, customer_id)}
    await browser.evaluate(
        f"window.postMessage({{type: 'cc-identify', ...{json.dumps(signed)}}}, location.origin)"
    )
    await browser.evaluate(f"{q('#prechat')}.requestSubmit()")
    await browser.wait_for("document.body.dataset.phase === 'new'")


async def chat_say(browser: Browser, text: str) -> None:
    await browser.evaluate(f"{q('#text')}.value = {text!r}; {q('#send')}.requestSubmit()")


async def shoot(browser: Browser, name: str) -> None:
    for label, (width, height) in (("desktop", DESKTOP), ("phone", PHONE)):
        shot = SHOTS / f"{name}-{label}.png"
        await browser.screenshot(shot, width, height)
        assert shot.read_bytes().startswith(b"\x89PNG"), shot
    await browser.viewport(*DESKTOP)


async def shown_at_both_widths(browser: Browser, selector: str) -> None:
    """The element is laid out with a size and inside the page's width on a desktop and on a
    phone (not hidden, not cut off at the side)."""
    for width, height in (DESKTOP, PHONE):
        await browser.viewport(width, height)
        box = await browser.evaluate(
            f"(() => {{ const r = {q(selector)}.getBoundingClientRect();"
            " return [r.width, r.height, r.left, r.right]; })()"
        )
        assert box[0] > 0 and box[1] > 0 and box[2] >= 0 and box[3] <= width + 1, (width, box)
    await browser.viewport(*DESKTOP)


def thread_has(contact_id: str, text: str) -> str:
    card = f".contact[data-contact-id='{contact_id}'] .thread"
    return f"({q(card)}?.innerText || '').includes({text!r})"


async def accept_on_page(desk_page: Browser, contact_id: str) -> None:
    offer = f".offer[data-offer-id^='{contact_id}']"
    await desk_page.wait_for(f"!!{q(offer)}", 30)
    await desk_page.evaluate(f"{q(offer + ' .accept')}.click()")
    await desk_page.wait_for(f"!!{q(f'.contact[data-contact-id={contact_id!r}]')}", 30)


def sent_has(contact_id: str, text: str) -> str:
    """A reply the desk acknowledged (not one still sending, nor a failed one)."""
    sent = f".contact[data-contact-id='{contact_id}'] .msg.out:not(.pending):not(.failed)"
    return f"[...document.querySelectorAll({sent!r})].some(m => m.innerText.includes({text!r}))"


async def reply_on_page(desk_page: Browser, contact_id: str, text: str) -> None:
    card = f".contact[data-contact-id='{contact_id}']"
    await desk_page.evaluate(f"{q(card + ' .reply-text')}.value = {text!r}")
    await desk_page.evaluate(f"{q(card + ' .reply')}.click()")
    await desk_page.wait_for(sent_has(contact_id, text))


async def complete_on_page(desk_page: Browser, contact_id: str, code: str) -> None:
    card = f".contact[data-contact-id='{contact_id}']"
    await desk_page.evaluate(f"{q(card + ' .wrapup-start')}.click()")
    await desk_page.wait_for(f"!{q(card + ' .wrapup')}.hidden")
    await desk_page.wait_for(f"/^\\d+:\\d\\d$/.test({q(card + ' .wrapup-timer')}.textContent)")
    await desk_page.evaluate(f"{q(card + ' .disposition')}.value = {code!r}")
    await desk_page.evaluate(f"{q(card + ' .complete')}.click()")
    await desk_page.wait_for(f"!{q(card)}")


async def test_chat_both_ways_live_wrap_up_and_the_customer_told(
    page_settings: Settings,
    desk_page: Browser,
    chat_page: Browser,
    relay: tuple[Relay, int],
) -> None:
    await chat_open(chat_page, page_settings)
    assert "Ask us anything" in await chat_page.evaluate(f"{q('#greeting')}.innerText")
    assert "08:00-18:00" in await chat_page.evaluate(f"{q('#hours')}.innerText")
    await shoot(chat_page, "chat-prechat")
    await chat_open_as(chat_page, page_settings, "vip-7")
    await chat_say(chat_page, "Where is order O-77?")
    await chat_page.wait_for(f"{q('.msg.me')}?.dataset.state === 'delivered'")
    # neither the page's address nor its script holds the chat's id or the session's secret
    assert await chat_page.evaluate("location.search + location.hash") == ""
    assert "cc_chat" not in await chat_page.evaluate("document.cookie")
    contact_id = await _contact_of(page_settings, "Where is order O-77?")

    offer = f".offer[data-offer-id^='{contact_id}']"
    await desk_page.wait_for(f"!!{q(offer)}", 30)
    text = await desk_page.evaluate(f"{q(offer)}.innerText")
    assert "Grace Hopper" in text and "20% off" in text
    assert await desk_page.evaluate(f"/\\d+ s/.test({q(offer + ' .countdown')}.textContent)")
    assert await desk_page.evaluate(f"{q('#offers')}.getAttribute('aria-live')") == "assertive"
    await shoot(desk_page, "desk-offer")
    await accept_on_page(desk_page, contact_id)
    assert await desk_page.evaluate(thread_has(contact_id, "Where is order O-77?"))

    # the customer's follow-up reaches the desk live; the agent's reply reaches the customer
    await chat_say(chat_page, "It was due on Monday.")
    await desk_page.wait_for(thread_has(contact_id, "It was due on Monday."))
    await reply_on_page(desk_page, contact_id, "Sorry Grace, it ships tomorrow with 20% off.")
    await chat_page.wait_for(f"({q('.msg.agent')}?.innerText || '').includes('ships tomorrow')")
    assert "Dana" in await chat_page.evaluate(f"{q('.msg.agent .meta')}.innerText")
    await chat_page.wait_for(f"{q('#status')}.innerText.includes('chatting with Dana')")
    await chat_say(chat_page, "Thank you!")
    await desk_page.wait_for(thread_has(contact_id, "Thank you!"))
    await shoot(desk_page, "desk-conversation")
    await shoot(chat_page, "chat-conversation")

    # wrap-up with a code; the customer is told, the input closed, a new chat offered
    await complete_on_page(desk_page, contact_id, "compensation_offered")
    await chat_page.wait_for(f"{q('#ended-text')}.innerText.includes('Dana ended the chat')")
    assert await chat_page.evaluate(
        f"{q('#text')}.disabled && {q('#send')}.hidden && !{q('#new-chat')}.hidden"
    )
    await shoot(chat_page, "chat-ended")
    row = await lifecycle(page_settings, contact_id)
    assert (row["agent_id"], row["disposition"]) == ("dana", "compensation_offered")

    # the transcript by e-mail, through the relay
    handler, _port = relay
    await chat_page.evaluate(f"{q('#transcript-email')}.value = 'grace@example.com'")
    await chat_page.evaluate(f"{q('#transcript-form')}.requestSubmit()")
    await chat_page.wait_for(f"{q('#transcript-note')}.innerText.includes('Transcript sent')")
    mail = next(m for m in handler.messages if m["X-Contact-Id"] == contact_id)
    body = mail.get_content()
    assert "It was due on Monday." in body and "Dana: Sorry Grace" in body


async def test_sms_thread_live_on_the_desk(
    page_settings: Settings,
    desk_page: Browser,
    gateway: Restartable,
    twilio: TwilioApiServer,
    http: aiohttp.ClientSession,
) -> None:
    base = f"http://127.0.0.1:{page_settings.gateway_port}"

    async def sms(body: str) -> str:
        sid = "SM" + uuid.uuid4().hex
        form = {
            "AccountSid": twilio.account_sid,
            "MessageSid": sid,
            "From": VIP_PHONE,
            "To": OUR_NUMBER,
            "Body": body,
            "NumMedia": "0",
        }
        assert (await post_webhook(http, base, "/twilio/sms", form, twilio.auth_token))[0] == 200
        return sid

    contact_id = f"sms-{await sms('My parcel has not arrived')}"
    await accept_on_page(desk_page, contact_id)
    await sms("Tracking says held at depot")
    await desk_page.wait_for(thread_has(contact_id, "Tracking says held at depot"))
    await reply_on_page(desk_page, contact_id, "I have asked the depot to release it.")
    sent = [m["Body"] for m in twilio.created_messages()]
    assert "I have asked the depot to release it." in sent
    await complete_on_page(desk_page, contact_id, "follow_up")
    row = await lifecycle(page_settings, contact_id)
    assert row["disposition"] == "follow_up"


async def test_queue_and_place_in_line_then_an_offer_runs_out(
    page_settings: Settings, desk_page: Browser, chat_page: Browser
) -> None:
    await desk_page.evaluate(f"{q('#reason')}.value = 'training'; {q('#notready')}.click()")
    await desk_page.wait_for(f"{q('#state-label')}.innerText === 'Not ready — training'", 30)
    # a visitor fills the pre-chat form and waits: the page shows the place in line
    await chat_open(chat_page, page_settings)
    await chat_page.evaluate(f"{q('#pre-name')}.value = 'Ada'; {q('#prechat')}.requestSubmit()")
    await chat_say(chat_page, "Anyone there?")
    await chat_page.wait_for(f"{q('.msg.me')}?.dataset.state === 'delivered'")
    await chat_page.wait_for(f"{q('#status')}.innerText.includes('number 1 in line')", 30)
    await shoot(chat_page, "chat-waiting")
    contact_id = await _contact_of(page_settings, "Anyone there?")
    # the desk's queue view counts it (refreshed every few seconds)
    await desk_page.wait_for(f"{q('#queue tbody')}.innerText.includes('standard\t1')", 30)

    # ready: the offer comes; nobody accepts, the countdown runs out, the page says so
    await desk_page.evaluate(f"{q('#ready')}.click()")
    first = f".offer[data-offer-id='{contact_id}:1']"
    await desk_page.wait_for(f"!!{q(first)}", 30)
    await desk_page.wait_for(f"!{q(first)}", 30)
    await desk_page.wait_for(f"{q('#log')}.innerText.includes('Offer expired')")
    # offered again: accepted; the customer ends, the desk goes to wrap-up by itself
    await accept_on_page(desk_page, contact_id)
    await chat_page.evaluate(f"{q('#end')}.click()")
    await chat_page.wait_for(f"{q('#ended-text')}.innerText.includes('You ended the chat')")
    card = f".contact[data-contact-id='{contact_id}']"
    await desk_page.wait_for(f"!{q(card + ' .wrapup')}.hidden", 30)
    assert "Ada ended the chat" in await desk_page.evaluate(f"{q(card + ' .ended-note')}.innerText")
    await desk_page.evaluate(f"{q(card + ' .disposition')}.value = 'no_answer'")
    await desk_page.evaluate(f"{q(card + ' .complete')}.click()")
    await desk_page.wait_for(f"!{q(card)}")
    assert (await lifecycle(page_settings, contact_id))["disposition"] == "no_answer"


async def test_desk_down_and_back_and_gateway_stopping_mid_message(
    page_settings: Settings,
    desk_page: Browser,
    chat_page: Browser,
    desk: Restartable,
    gateway: Restartable,
) -> None:
    await chat_open_as(chat_page, page_settings, "vip-7")
    await chat_say(chat_page, "Me again about O-77")
    await chat_page.wait_for(f"{q('.msg.me')}?.dataset.state === 'delivered'")
    contact_id = await _contact_of(page_settings, "Me again about O-77")
    await accept_on_page(desk_page, contact_id)

    # the desk goes down: the page shows the banner; a follow-up arrives meanwhile
    await desk.stop()
    await desk_page.wait_for(f"!{q('#banner')}.hidden && document.body.dataset.stream === 'down'")
    assert await desk_page.evaluate(f"{q('#ready')}.disabled && {q('#notready')}.disabled")
    await shoot(desk_page, "desk-connection-lost")
    await chat_say(chat_page, "Written while the desk was down")
    await chat_page.wait_for(
        "[...document.querySelectorAll('.msg.me')].every(m => m.dataset.state === 'delivered')"
    )
    await desk.start()
    back = f"{q('#banner')}.hidden && document.body.dataset.stream === 'open'"
    await desk_page.wait_for(back, 30)
    await desk_page.wait_for(thread_has(contact_id, "Written while the desk was down"), 30)
    assert await desk_page.evaluate("document.body.dataset.state") == "ready"

    # the gateway stops while a message is on its way, and another is typed while it is down
    await chat_say(chat_page, "Sent as the gateway stops")
    await gateway.stop()
    await chat_page.wait_for("document.body.dataset.conn !== 'online'")
    await chat_say(chat_page, "Typed while the gateway is down")
    shown_sent = await _delivered_texts(chat_page)
    assert "Typed while the gateway is down" not in shown_sent
    await shoot(chat_page, "chat-reconnecting")
    stored = await _stored_texts(page_settings, contact_id)
    assert set(shown_sent) <= set(stored)  # nothing shown as sent is missing
    await gateway.start()
    await chat_page.wait_for(
        "[...document.querySelectorAll('.msg.me')].every(m => m.dataset.state === 'delivered')",
        30,
    )
    stored = await _stored_texts(page_settings, contact_id)
    assert set(await _delivered_texts(chat_page)) <= set(stored)
    assert {"Sent as the gateway stops", "Typed while the gateway is down"} <= set(stored)
    assert stored.count("Sent as the gateway stops") == 1
    for text in ("Sent as the gateway stops", "Typed while the gateway is down"):
        await desk_page.wait_for(thread_has(contact_id, text))
    await complete_on_page(desk_page, contact_id, "resolved")
    await chat_page.wait_for(f"{q('#ended-text')}.innerText.includes('ended the chat')")


async def test_a_failed_reply_an_outage_and_a_refused_complete_shown_at_the_control(
    page_settings: Settings, desk_page: Browser, chat_page: Browser, desk: Restartable
) -> None:
    await chat_open_as(chat_page, page_settings, "vip-7")
    await chat_say(chat_page, "Where is my parcel?")
    await chat_page.wait_for(f"{q('.msg.me')}?.dataset.state === 'delivered'")
    contact_id = await _contact_of(page_settings, "Where is my parcel?")
    await accept_on_page(desk_page, contact_id)
    card = f".contact[data-contact-id='{contact_id}']"

    # the desk cannot be reached when a reply is sent: a failed bubble with the reason and
    # Retry, the box free for the next reply (which is not appended to the failed one)
    await desk_page.send("Network.enable")
    await desk_page.send("Network.setBlockedURLs", urls=["*/reply"])
    await desk_page.evaluate(f"{q(card + ' .reply-text')}.value = 'First answer'")
    await desk_page.evaluate(f"{q(card + ' .reply')}.click()")
    failed = card + " .msg.failed"
    await desk_page.wait_for(f"!!{q(failed + ' button.retry')}")
    assert "Not sent" in await desk_page.evaluate(f"{q(failed)}.innerText")
    assert await desk_page.evaluate(f"{q(failed + ' [role=alert]')} !== null")
    assert await desk_page.evaluate(f"{q(card + ' .reply-text')}.value") == ""
    assert "First answer" not in await _stored_texts(page_settings, contact_id, "out")
    await shown_at_both_widths(desk_page, failed + " button.retry")
    await shoot(desk_page, "desk-reply-failed")
    await desk_page.send("Network.setBlockedURLs", urls=[])
    open_ = "document.body.dataset.stream === 'open'"
    await desk_page.wait_for(f"{open_} && !{q(failed + ' .retry')}.disabled")
    await reply_on_page(desk_page, contact_id, "Second answer")
    await desk_page.evaluate(f"{q(failed + ' .retry')}.click()")
    await desk_page.wait_for(f"!{q(failed)} && " + sent_has(contact_id, "First answer"))
    await chat_page.wait_for(
        "[...document.querySelectorAll('.msg.agent .body')].map(b => b.textContent).join('|')"
        ".includes('First answer')"
    )
    shown = await chat_page.evaluate(
        "[...document.querySelectorAll('.msg.agent .body')].map(b => b.textContent)"
    )
    assert "Second answer" in shown and "First answer" in shown
    assert all("answerSecond" not in b and "answerFirst" not in b for b in shown)

    # a reply sent again with the id it had (its answer lost on the way) is not sent twice
    path = f"/api/contacts/{contact_id}/reply"
    twice = [
        await desk_page.evaluate(
            f"window.desk.api('POST', '{path}', {{text: 'Only once', id: 'r-1'}})"
            ".then(r => r.message_id)"
        )
        for _ in range(2)
    ]
    assert twice[0] == twice[1]
    assert (await _stored_texts(page_settings, contact_id, "out")).count("Only once") == 1

    # the desk stops: Send and End & wrap up are disabled, the draft stays, sent once back
    await desk_page.evaluate(f"{q(card + ' .reply-text')}.value = 'Draft during the outage'")
    await desk.stop()
    await desk_page.wait_for("document.body.dataset.stream === 'down'")
    assert await desk_page.evaluate(
        f"{q(card + ' .reply')}.disabled && {q(card + ' .wrapup-start')}.disabled"
        f" && {q(card + ' .canned')}.disabled && !{q(card + ' .composer-offline')}.hidden"
    )
    draft = await desk_page.evaluate(f"{q(card + ' .reply-text')}.value")
    assert draft == "Draft during the outage"
    await desk.start()
    await desk_page.wait_for(f"{open_} && !{q(card + ' .reply')}.disabled", 30)
    assert await desk_page.evaluate(f"{q(card + ' .composer-offline')}.hidden")
    await desk_page.evaluate(f"{q(card + ' .reply')}.click()")
    await desk_page.wait_for(sent_has(contact_id, "Draft during the outage"))

    # a guide with required steps left: Complete is refused, the reason and the steps beside it
    choice = "#guide-panel .guide-choice"
    await desk_page.wait_for(f"!!{q(choice)} || !!{q('#guide-panel .guide-steps')}")
    if await desk_page.evaluate(f"!!{q(choice)}"):
        await desk_page.evaluate(f"{q(choice)}.value = 'delivery_delay'")
        await desk_page.evaluate(f"{q('#guide-panel .guide-start')}.click()")
    await desk_page.wait_for(f"!!{q('#guide-panel .guide-missing')}")
    # the step's customer data as labelled fields, not raw key: value text
    await desk_page.wait_for(f"!!{q('#guide-panel .guide-data .guide-fields')}")
    data = await desk_page.evaluate(f"{q('#guide-panel .guide-data')}.innerText")
    assert "Known customer" in data and "Grace Hopper" in data
    assert "known: true" not in data and "true" not in data
    await shoot(desk_page, "desk-guide-fields")
    await desk_page.evaluate(f"{q(card + ' .wrapup-start')}.click()")
    await desk_page.evaluate(f"{q(card + ' .complete')}.click()")
    refusal = card + " .complete-refusal"
    await desk_page.wait_for(f"!{q(refusal)}.hidden")
    shown_refusal = await desk_page.evaluate(f"{q(refusal)}.innerText")
    assert "Not completed" in shown_refusal and "verify identity" in shown_refusal
    assert await desk_page.evaluate(f"{q(refusal)}.getAttribute('role')") == "alert"
    assert not await desk_page.evaluate(f"{q(card + ' .complete')}.disabled")
    await shown_at_both_widths(desk_page, refusal + " .missing-steps")
    await shoot(desk_page, "desk-complete-refused")
    base = f"/api/contacts/{contact_id}/guide/steps"
    for step, value in (
        ("verify_identity", "yes"),
        ("review_notice", "done"),
        ("offer_compensation", "accepted"),
    ):
        await desk_page.evaluate(f"window.desk.api('POST', '{base}/{step}', {{value: {value!r}}})")
    await desk_page.evaluate(f"{q(card + ' .complete')}.click()")
    await desk_page.wait_for(f"!{q(card)}")
    assert (await lifecycle(page_settings, contact_id))["agent_id"] == "dana"
    # the survey prompt reaches the chat before it ends (sent ahead of the end on the socket)
    await chat_page.wait_for(f"{q('#ended-text')}.innerText.includes('ended the chat')")
    agent_messages = "[...document.querySelectorAll('.msg.agent')]"
    survey = f"{agent_messages}.find(m => /how satisfied/.test(m.innerText))"
    assert await chat_page.evaluate(f"!!({survey})?.querySelector('a[href*=\"/survey/\"]')")
    await shown_at_both_widths(chat_page, "#log .msg.agent a[href*='/survey/']")
    await shoot(chat_page, "chat-survey")


async def test_keyboard_only_and_state_restored_from_routing_after_reload_and_restart(
    page_settings: Settings, desk_page: Browser, chat_page: Browser, desk: Restartable
) -> None:
    # Ready by keyboard: the pressed button is disabled, focus moves to Not ready, not the body
    await desk_page.evaluate(f"{q('#notready')}.click()")
    await desk_page.wait_for("document.body.dataset.state === 'not_ready'", 30)
    await desk_page.evaluate(f"{q('#ready')}.focus()")
    await desk_page.press("Enter")
    await desk_page.wait_for("document.body.dataset.state === 'ready'", 30)
    await desk_page.wait_for("document.activeElement?.id === 'notready'")
    ready_since = await _routing_since(page_settings, "routing_agents", "agent_id", "dana")

    # an offer accepted with Alt+A: focus in the reply box; a reply typed and sent with Enter
    await chat_open_as(chat_page, page_settings, "vip-7")
    await chat_say(chat_page, "Can you hear the keys?")
    await chat_page.wait_for(f"{q('.msg.me')}?.dataset.state === 'delivered'")
    contact_id = await _contact_of(page_settings, "Can you hear the keys?")
    offer = f".offer[data-offer-id^='{contact_id}']"
    await desk_page.wait_for(f"!!{q(offer)}", 30)
    assert await desk_page.evaluate(f"{q(offer + ' .accept')}.getAttribute('aria-keyshortcuts')")
    await desk_page.press("a", alt=True)
    card = f".contact[data-contact-id='{contact_id}']"
    await desk_page.wait_for(f"!!{q(card)}", 30)
    await desk_page.wait_for(f"document.activeElement === {q(card + ' .reply-text')}")
    await desk_page.type_text("Loud and clear, typed with the keyboard.")
    await desk_page.press("Enter")
    await desk_page.wait_for(sent_has(contact_id, "Loud and clear"))
    await chat_page.wait_for(f"({q('.msg.agent')}?.innerText || '').includes('Loud and clear')")
    assert await desk_page.evaluate(f"document.activeElement === {q(card + ' .reply-text')}")

    # End & wrap up reached with Tab: the wrap-up starts on the server, focus on the code
    await _tab_to(desk_page, card + " .wrapup-start")
    ring = "getComputedStyle(document.activeElement).outlineStyle"
    assert await desk_page.evaluate(ring) == "solid"  # the keyboard focus is visible
    await desk_page.press("Enter")
    await desk_page.wait_for(f"document.activeElement === {q(card + ' .disposition')}")
    wrap_since = await desk_page.evaluate(f"{q(card)}.dataset.wrapupSince")

    # a reload, then a desk restart: the state's time, the handle time and the wrap-up come
    # back from routing's rows (and the desk's wrap-up record), not from the page or process
    for restart in (False, True):
        if restart:
            await desk.stop()
            await desk_page.wait_for("document.body.dataset.stream === 'down'")
            await desk.start()
        else:
            await desk_page.goto(f"http://127.0.0.1:{page_settings.desk_port}/")
        await desk_page.wait_for(f"document.body.dataset.stream === 'open' && !!{q(card)}", 30)
        await desk_page.wait_for(f"!{q(card + ' .wrapup')}.hidden")
        assert await desk_page.evaluate(f"{q(card + ' .composer')}.hidden")
        assert await desk_page.evaluate(f"{q(card)}.dataset.wrapupSince") == wrap_since
        shown = await desk_page.evaluate(f"{q('#state-timer')}.dataset.since")
        assert _instant(shown) == ready_since  # the assignment did not restart the timer
        assigned = await desk_page.evaluate(f"{q(card)}.dataset.assignedAt")
        assert assigned is not None and _instant(assigned) <= _instant(wrap_since)
    assert await _routing_since(page_settings, "routing_agents", "agent_id", "dana") == ready_since

    # Complete with the keyboard; focus goes to a control, not the page's body
    await _tab_to(desk_page, card + " .complete")
    await desk_page.press("Enter")
    await desk_page.wait_for(f"!{q(card)}")
    assert await desk_page.evaluate(
        "document.activeElement !== document.body && document.activeElement !== null"
    )
    assert (await lifecycle(page_settings, contact_id))["disposition"] == "resolved"


async def test_capacity_per_channel_in_the_status_and_the_queue_per_channel(
    page_settings: Settings,
    desk_page: Browser,
    chat_page: Browser,
    twilio: TwilioApiServer,
    http: aiohttp.ClientSession,
) -> None:
    await desk_page.evaluate(f"{q('#reason')}.value = 'meeting'; {q('#notready')}.click()")
    await desk_page.wait_for(f"{q('#state-label')}.innerText === 'Not ready — meeting'", 30)
    base = f"http://127.0.0.1:{page_settings.gateway_port}"
    async with contextlib.AsyncExitStack() as stack:
        # three chats (this page and two more browsers) and an SMS wait
        await chat_open_as(chat_page, page_settings, "vip-7")
        await chat_say(chat_page, "First of three chats")
        await chat_page.wait_for(f"{q('.msg.me')}?.dataset.state === 'delivered'")
        texts = ["First of three chats"]
        for n in (2, 3):
            customer = await stack.enter_async_context(ChatCustomer(base))
            await customer.start(name=f"Visitor {n}")
            ws = await stack.enter_async_context(customer.socket())
            texts.append(f"Chat number {n}")
            await ws.send_json({"type": "message", "text": texts[-1], "id": f"m{n}"})
            while (await ws.receive_json(timeout=10))["type"] != "ack":
                pass
        sid = await _sms_in(http, base, twilio, "Texting while the chats wait")
        await desk_page.wait_for(
            f"{q('#queue-channels tbody')}.innerText.includes('chat\t3')"
            f" && {q('#queue-channels tbody')}.innerText.includes('sms\t1')",
            30,
        )
        contacts = [await _contact_of(page_settings, t) for t in texts] + [f"sms-{sid}"]

        # ready: all four offered and accepted; the status says chats 3/3 (full) and SMS 1/5
        await desk_page.evaluate(f"{q('#ready')}.click()")
        for contact_id in contacts:
            await accept_on_page(desk_page, contact_id)
        full = f"{q('#capacity .load.full')}?.innerText === 'chats 3/3'"
        await desk_page.wait_for(f"{full} && {q('#capacity')}.innerText.includes('SMS 1/5')", 30)
        assert await desk_page.evaluate("document.body.dataset.state") == "ready"
        await shown_at_both_widths(desk_page, "#capacity .load.full")
        await shoot(desk_page, "desk-capacity")
        for contact_id in contacts:
            await complete_on_page(desk_page, contact_id, "resolved")
        await desk_page.wait_for(f"{q('#capacity')}.innerText === 'chats 0/3'", 30)


async def test_typing_both_ways_previews_and_waiting_timers(
    page_settings: Settings, desk_page: Browser, chat_page: Browser
) -> None:
    await chat_open_as(chat_page, page_settings, "vip-7")
    await chat_say(chat_page, "Is anybody typing?")
    await chat_page.wait_for(f"{q('.msg.me')}?.dataset.state === 'delivered'")
    contact_id = await _contact_of(page_settings, "Is anybody typing?")
    await accept_on_page(desk_page, contact_id)
    card = f".contact[data-contact-id='{contact_id}']"
    # the list: the last message as a preview, the customer waiting for a reply with a timer
    item = f"#conversation-list button[data-contact-id='{contact_id}']"
    await desk_page.wait_for(
        f"({q(item + ' .preview')}?.innerText || '').includes('Is anybody typing?')"
        f" && /^\\d+:\\d\\d$/.test({q(item + ' .waiting')}?.textContent)"
    )
    assert await desk_page.evaluate(f"{q(item + ' .waiting')}.getAttribute('aria-label')")

    # the customer types: the desk says so, in the conversation and the list
    typing_in = "dispatchEvent(new Event('input'))"
    await chat_page.evaluate(f"{q('#text')}.value = 'One more thi'; {q('#text')}.{typing_in}")
    await desk_page.wait_for(f"!{q(card + ' .typing-note')}.hidden", 30)
    assert "Grace Hopper is typing" in await desk_page.evaluate(
        f"{q(card + ' .typing-note')}.innerText"
    )
    assert await desk_page.evaluate(f"!!{q(item + ' .typing')}")
    await shown_at_both_widths(desk_page, card + " .typing-note")
    await shoot(desk_page, "desk-typing")

    # the agent types: the chat page says so
    reply = card + " .reply-text"
    await desk_page.evaluate(f"{q(reply)}.value = 'Yes, go ahead'; {q(reply)}.{typing_in}")
    await chat_page.wait_for(f"{q('#typing')}.innerText.includes('Dana is typing')", 30)
    assert await chat_page.evaluate(f"!{q('#typing')}.hidden")
    await shown_at_both_widths(chat_page, "#typing")
    await shoot(chat_page, "chat-typing")

    # the reply goes: no one waits any more, the preview is the reply; typing left no trace
    await desk_page.evaluate(f"{q(card + ' .reply')}.click()")
    await desk_page.wait_for(sent_has(contact_id, "Yes, go ahead"))
    await desk_page.wait_for(
        f"!{q(item + ' .waiting')} && {q(item + ' .preview')}.innerText.includes('You: Yes')"
    )
    await chat_page.wait_for(f"{q('#typing')}.hidden")
    connection = await asyncpg.connect(page_settings.require_database_url())
    try:
        stored = await connection.fetchval(
            "SELECT count(*) FROM channel_messages WHERE contact_id = $1"
            " AND body LIKE 'One more thi%'",
            contact_id,
        )
        logged = await connection.fetchval(
            "SELECT count(*) FROM interaction_events WHERE type = 'typing'"
        )
    finally:
        await connection.close()
    assert (stored, logged) == (0, 0)

    # the customer ends while the agent is in the reply box: focus moves to the wrap-up's code
    await desk_page.evaluate(f"{q(reply)}.focus()")
    await chat_page.evaluate(f"{q('#end')}.click()")
    await desk_page.wait_for(f"!{q(card + ' .wrapup')}.hidden", 30)
    await desk_page.wait_for(f"document.activeElement === {q(card + ' .disposition')}")
    await desk_page.evaluate(f"{q(card + ' .complete')}.click()")
    await desk_page.wait_for(f"!{q(card)}")


async def test_an_email_follow_up_reaches_the_desk_live(
    page_settings: Settings, desk_page: Browser, gateway: Restartable, relay: tuple[Relay, int]
) -> None:
    smtp_port = gateway.running.smtp_port
    first = EmailMessage()
    first["From"] = "Grace Hopper <grace@example.com>"
    first["To"] = "support@shop.example"
    first["Subject"] = "Parcel arrived damaged"
    first["Message-ID"] = original = make_msgid(domain="example.com")
    first.set_content("The box was crushed and the mug is broken.\n")
    await aiosmtplib.send(first, hostname="127.0.0.1", port=smtp_port)
    contact_id = contact_id_for(original)
    await accept_on_page(desk_page, contact_id)
    await desk_page.wait_for(thread_has(contact_id, "the mug is broken"))
    await reply_on_page(desk_page, contact_id, "Sorry! A new mug is on its way.")
    reply = next(m for m in relay[0].messages if m["In-Reply-To"] == original)

    # the customer answers the agent's e-mail: the answer appears in the open thread, live
    answer = EmailMessage()
    answer["From"] = "grace@example.com"
    answer["To"] = "support@shop.example"
    answer["Subject"] = "Re: Parcel arrived damaged"
    answer["Message-ID"] = make_msgid(domain="example.com")
    answer["In-Reply-To"] = reply["Message-ID"]
    answer["References"] = f"{original} {reply['Message-ID']}"
    answer.set_content("Thank you, the old one is in the bin.\n")
    await aiosmtplib.send(answer, hostname="127.0.0.1", port=smtp_port)
    await desk_page.wait_for(thread_has(contact_id, "the old one is in the bin"), 30)
    item = f"#conversation-list button[data-contact-id='{contact_id}']"
    await desk_page.wait_for(
        f"{q(item + ' .preview')}.innerText.includes('the old one') && !!{q(item + ' .waiting')}"
    )
    await shoot(desk_page, "desk-email-follow-up")
    await complete_on_page(desk_page, contact_id, "resolved")
    assert (await lifecycle(page_settings, contact_id))["channel"] == "email"


async def _sms_in(
    http: aiohttp.ClientSession, base: str, twilio: TwilioApiServer, body: str
) -> str:
    sid = "SM" + uuid.uuid4().hex
    form = {
        "AccountSid": twilio.account_sid,
        "MessageSid": sid,
        "From": VIP_PHONE,
        "To": OUR_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }
    assert (await post_webhook(http, base, "/twilio/sms", form, twilio.auth_token))[0] == 200
    return sid


async def _tab_to(browser: Browser, selector: str, limit: int = 80) -> None:
    """Tab through the page until ``selector`` has the focus (keyboard only)."""
    for _ in range(limit):
        if await browser.evaluate(f"document.activeElement === {q(selector)}"):
            return
        await browser.press("Tab")
    raise AssertionError(f"{selector} not reached with Tab")


def _instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


async def _routing_since(settings: Settings, table: str, key: str, value: str) -> datetime:
    connection = await asyncpg.connect(settings.require_database_url())
    try:
        since: datetime = await connection.fetchval(
            f"SELECT status_since FROM {table} WHERE {key} = $1", value
        )
        return since.replace(microsecond=since.microsecond // 1000 * 1000)
    finally:
        await connection.close()


async def _contact_of(settings: Settings, first_text: str) -> str:
    connection = await asyncpg.connect(settings.require_database_url())
    try:
        return str(
            await connection.fetchval(
                "SELECT contact_id FROM channel_messages WHERE body = $1"
                " ORDER BY created_at DESC LIMIT 1",
                first_text,
            )
        )
    finally:
        await connection.close()


async def _stored_texts(settings: Settings, contact_id: str, direction: str = "in") -> list[str]:
    connection = await asyncpg.connect(settings.require_database_url())
    try:
        rows = await connection.fetch(
            "SELECT body FROM channel_messages WHERE contact_id = $1 AND direction = $2",
            contact_id,
            direction,
        )
        return [r["body"] for r in rows]
    finally:
        await connection.close()


async def _delivered_texts(browser: Browser) -> list[str]:
    return list(
        await browser.evaluate(
            "[...document.querySelectorAll('.msg.me[data-state=delivered] .body')]"
            ".map(b => b.textContent)"
        )
    )


async def test_a_chat_no_logged_in_agent_can_take_is_told_so_and_may_leave_a_message(
    page_settings: Settings, desk_page: Browser, chat_page: Browser
) -> None:
    """A French-speaking customer while the only agent (Dana, ready) has no ``lang_fr``: the
    page never gives a wait, it says no agent is available and offers to leave a message; the
    desk's queue view shows the contact although Dana's skills do not cover it."""
    await seed_customer(
        page_settings.require_database_url(),
        customer_id="fr-3",
        name="Amélie Martin",
        tier="standard",
        language="fr",
        email="amelie@example.fr",
        chat_id="amelie",
    )
    assert await desk_page.evaluate("document.body.dataset.state") == "ready"
    await chat_open_as(chat_page, page_settings, "fr-3")
    await chat_say(chat_page, "Bonjour, où est ma commande ?")
    await chat_page.wait_for(f"{q('.msg.me')}?.dataset.state === 'delivered'")
    status = f"{q('#status')}.innerText"
    await chat_page.wait_for(f"{status}.includes('No agent who can help')", 30)
    assert "minute" not in await chat_page.evaluate(status)
    assert await chat_page.evaluate(f"!{q('#leave')}.hidden")
    await shoot(chat_page, "chat-no-agent")
    contact_id = await _contact_of(page_settings, "Bonjour, où est ma commande ?")
    assert await _routing_row(page_settings, contact_id) == ("chat", "lang_fr>=1")

    await desk_page.wait_for(f"{q('#unservable')}.innerText.includes('lang_fr>=1')", 30)
    assert "1 chat" in await desk_page.evaluate(f"{q('#unservable')}.innerText")
    await shoot(desk_page, "desk-unservable")

    # the customer leaves a message: it waits on as an e-mail, keeping its place
    await chat_page.evaluate(
        f"{q('#leave-email')}.value = 'amelie@example.fr'; {q('#leave')}.requestSubmit()"
    )
    await chat_page.wait_for(f"{status}.includes('e-mailed to amelie@example.fr')", 30)
    assert await chat_page.evaluate(f"{q('#leave')}.hidden")
    for _ in range(100):
        if await _routing_row(page_settings, contact_id) == ("email", "lang_fr>=1"):
            break
        await asyncio.sleep(0.1)
    assert await _routing_row(page_settings, contact_id) == ("email", "lang_fr>=1")


async def _routing_row(settings: Settings, contact_id: str) -> tuple[str, str] | None:
    connection = await asyncpg.connect(settings.require_database_url())
    try:
        row = await connection.fetchrow(
            "SELECT channel, unservable FROM routing_live_contacts WHERE contact_id = $1",
            contact_id,
        )
        return None if row is None else (row["channel"], row["unservable"])
    finally:
        await connection.close()


async def test_a_chat_transferred_keyboard_only_to_a_named_agent_with_a_note(
    page_settings: Settings, desk_page: Browser, chat_page: Browser, chromium: str
) -> None:
    """Dana hands a chat to Omar with the keyboard only: Omar's offer shows her note and the
    thread, the customer is told, and the interaction log keeps the original arrival time.
    Omar then asks Dana a consult question and she answers; neither enters the thread."""
    url = page_settings.require_database_url()
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    await pool.execute(
        "INSERT INTO agents (agent_id, pool_id, name, skills) VALUES"
        " ('omar', 'default', 'Omar', '{\"billing\": 5, \"orders\": 5}'::jsonb)"
        " ON CONFLICT (agent_id) DO NOTHING"
    )
    omar_token = await issue_token(pool, "omar")
    if await desk_page.evaluate("document.body.dataset.state") != "ready":
        await desk_page.evaluate(f"{q('#ready')}.click()")
        await desk_page.wait_for("document.body.dataset.state === 'ready'", 30)

    await chat_open_as(chat_page, page_settings, "vip-7")
    await chat_say(chat_page, "I was charged twice for O-77")
    await chat_page.wait_for(f"{q('.msg.me')}?.dataset.state === 'delivered'")
    contact_id = await _contact_of(page_settings, "I was charged twice for O-77")
    await accept_on_page(desk_page, contact_id)
    await reply_on_page(desk_page, contact_id, "Let me find someone from billing for you.")
    arrived = await pool.fetchval(
        "SELECT arrived_at FROM contacts WHERE contact_id = $1", contact_id
    )
    assert arrived is not None

    async with Browser(chromium) as omar:
        await omar.viewport(*DESKTOP)
        await omar.goto(f"http://127.0.0.1:{page_settings.desk_port}/")
        await omar.sign_in_to_desk(omar_token)
        await omar.wait_for("document.body.dataset.state === 'not_ready'", 30)
        await omar.evaluate(f"{q('#ready')}.click()")
        await omar.wait_for("document.body.dataset.state === 'ready'", 30)

        # Dana: Tab to Transfer, Enter; choose Omar with the arrow keys, type the note, send
        card = f".contact[data-contact-id='{contact_id}']"
        await _tab_to(desk_page, card + " .transfer-start")
        await desk_page.press("Enter")
        to = card + " .transfer-to"
        await desk_page.wait_for(f"document.activeElement === {q(to)}")
        omar_option = to + " option[value='agent:omar']"
        await desk_page.wait_for(f"!!{q(omar_option)}")
        for _ in range(20):
            if await desk_page.evaluate(f"{q(to)}.value") == "agent:omar":
                break
            await desk_page.press("ArrowDown")
        assert await desk_page.evaluate(f"{q(to)}.value") == "agent:omar"
        await desk_page.press("Tab")
        assert await desk_page.evaluate(f"document.activeElement === {q(card + ' .transfer-note')}")
        await desk_page.type_text("Charged twice on O-77; refund agreed, please process it.")
        await _tab_to(desk_page, card + " .transfer-send")
        await desk_page.press("Enter")
        await desk_page.wait_for(f"!{q(card)}", 30)
        assert await desk_page.evaluate(
            "document.activeElement !== document.body && document.activeElement !== null"
        )

        # Omar's offer: Dana's note and the whole thread
        offer = f".offer[data-offer-id^='{contact_id}']"
        await omar.wait_for(f"!!{q(offer)}", 30)
        assert await omar.evaluate(f"{q(offer)}.dataset.offerId") == f"{contact_id}:2"
        shown = await omar.evaluate(f"{q(offer)}.innerText")
        assert "Transferred by Dana" in shown and "refund agreed" in shown
        thread = await omar.evaluate(f"{q(offer + ' .offer-thread')}.innerText")
        assert "I was charged twice for O-77" in thread
        assert "Let me find someone from billing" in thread
        await shown_at_both_widths(omar, offer + " .handed-on")
        await shoot(omar, "desk-transfer-received")

        # the customer is told
        told = "You are being transferred to Omar."
        await chat_page.wait_for(
            "[...document.querySelectorAll('.msg.agent .body')].some(b => b.textContent"
            f".includes({told!r}))",
            30,
        )

        # Omar takes it: the thread with the note beside it; he answers the customer
        await accept_on_page(omar, contact_id)
        assert "refund agreed" in await omar.evaluate(f"{q(card + ' .handed-on')}.innerText")
        await omar.wait_for(thread_has(contact_id, "I was charged twice for O-77"))
        await omar.wait_for(thread_has(contact_id, told))
        await reply_on_page(omar, contact_id, "Omar here: the refund is on its way.")
        await chat_page.wait_for(
            "[...document.querySelectorAll('.msg.agent .body')].some(b => b.textContent"
            ".includes('the refund is on its way'))",
            30,
        )

        # a consult: Omar asks Dana; she answers on her desk; the customer sees neither
        await omar.evaluate(f"{q(card + ' .consult-start')}.click()")
        consult_to = card + " .consult-to"
        dana_option = consult_to + " option[value='agent:dana']"
        await omar.wait_for(f"!!{q(dana_option)}")
        await omar.evaluate(
            f"{q(consult_to)}.value = 'agent:dana';"
            f" {q(card + ' .consult-note')}.value = 'Did you promise 20% off as well?'"
        )
        await omar.evaluate(f"{q(card + ' .consult-send')}.click()")
        item = ".consult-item:not(.answer)"
        await desk_page.wait_for(f"({q(item)}?.innerText || '').includes('20% off as well')", 30)
        assert "Question from Omar" in await desk_page.evaluate(f"{q(item)}.innerText")
        await desk_page.evaluate(
            f"{q(item + ' .consult-answer')}.value = 'No, only the refund.';"
            f" {q(item + ' .consult-answer-send')}.click()"
        )
        answer = ".consult-item.answer"
        await omar.wait_for(f"({q(answer)}?.innerText || '').includes('only the refund')", 30)
        assert "Answer from Dana" in await omar.evaluate(f"{q(answer)}.innerText")
        stored = await _stored_texts(page_settings, contact_id, "out")
        assert not any("20% off as well" in t or "only the refund" in t for t in stored)
        assert told in stored

        await complete_on_page(omar, contact_id, "resolved")
        await omar.evaluate("window.desk.api('POST', '/api/state', {state: 'logged_out'})")
        await omar.wait_for("document.body.dataset.state === 'logged_out'", 30)

    row = await lifecycle(page_settings, contact_id)
    assert row["disposition"] == "resolved"  # Omar's wrap-up
    assert row["agent_id"] == "dana"  # the log's agent is the one who answered first
    assert row["arrived_at"] == arrived  # the transfer kept the original arrival time
    assert row["requeues"] >= 1
    transfers = await pool.fetch(
        "SELECT from_agent_id, to_agent_id, note FROM desk_transfers WHERE contact_id = $1",
        contact_id,
    )
    await pool.close()
    assert [tuple(r) for r in transfers] == [
        ("dana", "omar", "Charged twice on O-77; refund agreed, please process it.")
    ]
