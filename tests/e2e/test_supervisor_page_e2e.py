"""The supervisor's floor page in headless Chromium against a real desk, routing worker, broker
and PostgreSQL: a supervisor signs in on the one sign-in page, lands on the floor, sees a queue,
an agent's capacity in use and an unservable contact live, and puts the agent not ready from the
page (a routing input, audited with its reason). Screenshots at desktop and tablet width go to a
temporary folder, or to the one given with ``--screenshots`` (docs/screenshots for the docs)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from schemas import contacts as ct
from schemas.topics import CONTACTS
from services.admin.model import Change, NewAgent, Role
from services.admin.service import hash_token
from services.admin.store_pg import PostgresAdminStore
from services.bus import open_bus
from services.desk.app import running_desk
from services.runtime.broker import LocalBroker, free_port
from streams.platform.settings import Settings
from tests.support.browser import Browser, chromium_path
from tests.support.desk_client import AgentClient, offer_for
from tests.support.environment import isolated_settings
from tests.support.workers import eventually, running_worker

pytestmark = pytest.mark.e2e

POOL = "floor"
DESKTOP, TABLET = (1280, 800), (820, 1180)
SUPERVISOR_TOKEN = "supervisor-token-for-the-floor-test"
AGENT_TOKEN = "agent-token-for-the-floor-test"


@pytest.fixture(scope="module")
def shots(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = request.config.getoption("--screenshots")
    return Path(chosen) if chosen else tmp_path_factory.mktemp("floor-screenshots")


@pytest.fixture(scope="module")
async def floor_settings(broker: LocalBroker, postgres_server_url: str) -> Settings:
    settings = await isolated_settings(
        broker, postgres_server_url, desk_port=free_port(), offer_timeout_seconds=300.0
    )
    pool = await asyncpg.create_pool(settings.require_database_url(), min_size=1, max_size=1)
    store = PostgresAdminStore(pool)
    setup = Change(actor_id="setup", action="agent.create")
    try:
        for new, token in (
            (
                NewAgent(
                    agent_id="sam",
                    pool_id="ops",
                    name="Sam",
                    role=Role.SUPERVISOR,
                    supervised_pools=[POOL, "escalations"],
                ),
                SUPERVISOR_TOKEN,
            ),
            (
                NewAgent(
                    agent_id="cara",
                    pool_id=POOL,
                    name="Cara",
                    skills={"billing": 5},
                    capacity={"chat": 3},
                ),
                AGENT_TOKEN,
            ),
        ):
            await store.create_agent(new.profile(), setup)
            await store.set_token(new.agent_id, hash_token(token), setup)
    finally:
        await pool.close()
    return settings


@pytest.fixture(scope="module")
def worker(floor_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with running_worker(floor_settings, tmp_path_factory.mktemp("floor-page") / "worker.log"):
        yield


@pytest.fixture(scope="module")
async def desk_url(floor_settings: Settings, worker: None) -> AsyncIterator[str]:
    async with running_desk(floor_settings):
        yield f"http://127.0.0.1:{floor_settings.desk_port}"


@pytest.fixture(scope="module")
async def chromium() -> str:
    executable = await asyncio.to_thread(chromium_path)
    if executable is None:
        pytest.skip(
            "chromium is not installed and scripts/install-test-deps.sh could not install it"
        )
    return executable


async def busy_floor(settings: Settings, desk_url: str, http: aiohttp.ClientSession) -> AgentClient:
    """Cara holds two chats of three; a call waits for her; a chat needing a skill nobody
    logged in has waits, unservable."""
    cara = await AgentClient(http, desk_url, "cara", AGENT_TOKEN).start()
    await cara.call("POST", "/api/login")
    await cara.call("POST", "/api/state", {"state": "ready"})
    async with open_bus(settings.kafka_bootstrap_servers, settings.topic_prefix) as bus:

        async def arrive(contact_id: str, **fields: object) -> None:
            record = ct.ContactArrived(pool_id=POOL, contact_id=contact_id, **fields)
            await bus.publish(CONTACTS, contact_id, record)

        for n in (1, 2):
            await arrive(f"chat-{n}", channel=ct.Channel.CHAT, skills={"billing": 3})
            _, offer = await offer_for([cara], f"chat-{n}")
            status, _ = await cara.call("POST", f"/api/offers/{offer['offer_id']}/accept")
            assert status == 200
        await arrive("call-1", channel=ct.Channel.VOICE)  # voice waits: Cara is on chats
        await arrive(
            "chat-tax", channel=ct.Channel.CHAT, customer_class="vip", skills={"tax_law": 7}
        )
    return cara


async def test_the_floor_shows_a_queue_capacity_and_an_unservable_contact_live(
    floor_settings: Settings,
    desk_url: str,
    chromium: str,
    shots: Path,
    http: aiohttp.ClientSession,
) -> None:
    cara = await busy_floor(floor_settings, desk_url, http)
    try:
        async with Browser(chromium) as browser:
            await browser.viewport(*DESKTOP)
            await browser.goto(desk_url + "/")
            await browser.wait_for(
                "!!document.querySelector('#signin-form') && "
                "!document.querySelector('#signin').hidden"
            )
            await browser.evaluate(f"document.querySelector('#token').value = {SUPERVISOR_TOKEN!r}")
            await browser.evaluate("document.querySelector('#signin-form').requestSubmit()")
            # the same sign-in page sends a supervisor to the floor
            await browser.wait_for("location.pathname === '/supervisor'")
            await browser.wait_for("document.body.dataset.stream === 'open'")
            capacity = "#agents tr[data-agent-id='cara'] .use[data-channel='chat']"
            # the pools Sam supervises, the first shown; the floor's pool chosen
            assert (
                await browser.evaluate(
                    "[...document.querySelector('#pool').options].map((o) => o.value).join()"
                )
                == "escalations,floor"
            )
            await browser.evaluate(
                "const s = document.querySelector('#pool'); s.value = 'floor';"
                " s.dispatchEvent(new Event('change'))"
            )
            await browser.wait_for("location.search === '?pool=floor'")
            await browser.wait_for(
                f"(document.querySelector({capacity!r}) || {{}}).textContent === 'chat 2/3'"
            )
            await browser.wait_for(
                "!!document.querySelector(\"#waiting tr[data-contact-id='chat-tax']"
                '[data-unservable]")'
            )
            voice = "#queues tr[data-channel='voice'][data-customer-class='standard'] .waiting"
            await browser.wait_for(
                f"(document.querySelector({voice!r}) || {{}}).textContent === '1'"
            )
            unservable = "#queues tr[data-channel='chat'][data-customer-class='vip'] .unservable"
            assert (
                await browser.evaluate(f"document.querySelector({unservable!r}).textContent") == "1"
            )
            shown = await browser.evaluate("document.body.innerText")
            assert "chat-1 · chat · assigned" in shown and "Cara (cara)" in shown
            await browser.screenshot(shots / "floor-desktop.png", *DESKTOP)
            await browser.screenshot(shots / "floor-tablet.png", *TABLET)

            # an action from the page: Cara not ready, with a reason
            await browser.viewport(*DESKTOP)
            await browser.evaluate(
                "[...document.querySelectorAll(\"#agents tr[data-agent-id='cara'] button\")]"
                ".find((b) => b.textContent === 'Not ready').click()"
            )
            await browser.wait_for("!document.querySelector('#action').hidden")
            await browser.evaluate("document.querySelector('#action-reason').value = 'coaching'")
            await browser.screenshot(shots / "floor-action-desktop.png", *DESKTOP)
            await browser.evaluate("document.querySelector('#action').requestSubmit()")
            await browser.wait_for(
                "(document.querySelector(\"#agents tr[data-agent-id='cara']\") || {dataset: {}})"
                ".dataset.state === 'not_ready'"
            )
        connection = await asyncpg.connect(floor_settings.require_database_url())
        try:
            row = await connection.fetchrow(
                "SELECT actor_id, reason, after FROM admin_audit WHERE subject_id = 'cara'"
                " AND action = 'agent.force_state'"
            )
        finally:
            await connection.close()
        assert (row["actor_id"], row["reason"]) == ("sam", "coaching")
        assert json.loads(row["after"])["requested"] == "not_ready"

        async def told() -> bool:
            return bool(cara.of("agent_state_changed", reason="supervisor: coaching"))

        await eventually(told, 10, "cara told she is not ready")
    finally:
        await cara.stop()
