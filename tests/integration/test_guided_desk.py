"""Guides on the desk against a real routing worker, the real broker and PostgreSQL: a guided
contact run through its steps (data shown at the right step, a precondition enforced, a
completion refused while a required step is missing), the audit rows, events and views; an
escalation that keeps the contact's place and resumes the guide on the specialist's desk."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from schemas import contacts as ct
from schemas import guides as gd
from schemas.topics import CONTACTS, GUIDE_EVENTS
from services.bus import Bus, TopicReader, open_bus
from services.conversations import Conversation, ConversationStore
from services.desk.app import RunningDesk, running_desk
from services.desk.auth import issue_token
from services.runtime.broker import LocalBroker
from streams.platform.settings import Settings
from tests.support.browser import Browser, chromium_path
from tests.support.channels import Records
from tests.support.desk_client import AgentClient, offer_for
from tests.support.environment import isolated_settings
from tests.support.workers import eventually, running_worker

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def guide_settings(broker: LocalBroker, postgres_server_url: str) -> Settings:
    return await isolated_settings(
        broker,
        postgres_server_url,
        desk_port=0,
        offer_timeout_seconds=120.0,
        channel_capacity={"voice": 1, "chat": 1, "email": 1, "sms": 1},  # one at a time
    )


@pytest.fixture(scope="module")
def worker(guide_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    log = tmp_path_factory.mktemp("guides") / "worker.log"
    with running_worker(guide_settings, log):
        yield log


@pytest.fixture(scope="module")
async def desk(guide_settings: Settings, worker: Path) -> AsyncIterator[RunningDesk]:
    async with running_desk(guide_settings) as running:
        yield running


@pytest.fixture(scope="module")
async def bus(guide_settings: Settings) -> AsyncIterator[Bus]:
    async with open_bus(guide_settings.kafka_bootstrap_servers, guide_settings.topic_prefix) as b:
        yield b


class Floor:
    """One pool of agents on the desk, and its customers' contacts."""

    def __init__(self, desk: RunningDesk, bus: Bus, http: aiohttp.ClientSession, pool_id: str):
        self.desk, self.bus, self.http, self.pool_id = desk, bus, http, pool_id
        self.db: asyncpg.Pool = desk.desk.pool
        self.agents: list[AgentClient] = []

    async def agent(self, agent_id: str, skills: dict[str, int]) -> AgentClient:
        token = await issue_token(self.db, agent_id, self.pool_id)
        await self.db.execute(
            "UPDATE agents SET skills = $2::jsonb WHERE agent_id = $1", agent_id, json.dumps(skills)
        )
        base = f"http://127.0.0.1:{self.desk.port}"
        client = await AgentClient(self.http, base, agent_id, token).start()
        assert (await client.call("POST", "/api/login"))[0] == 200
        assert (await client.call("POST", "/api/state", {"state": "ready"}))[0] == 200
        self.agents.append(client)
        return client

    async def contact(self, contact_id: str, skills: dict[str, int], customer_id: str) -> None:
        await ConversationStore(self.db).create(
            Conversation(contact_id, self.pool_id, "email", f"{contact_id}@example.com",
                         customer_id=customer_id)
        )  # fmt: skip
        arrived = ct.ContactArrived(
            pool_id=self.pool_id,
            contact_id=contact_id,
            channel=ct.Channel.EMAIL,
            skills=skills,
            customer=ct.CustomerRef(customer_id=customer_id),
        )
        await self.bus.publish(CONTACTS, contact_id, arrived)

    async def answered(
        self, contact_id: str, by: AgentClient | None = None
    ) -> tuple[AgentClient, dict[str, Any]]:
        agent, offer = await offer_for([by] if by else self.agents, contact_id)
        status, body = await agent.call("POST", f"/api/offers/{offer['offer_id']}/accept")
        assert status == 200 and body["status"] == "assigned", body
        return agent, offer

    async def stop(self) -> None:
        for agent in self.agents:
            await agent.stop()


@pytest.fixture
async def customer(desk: RunningDesk) -> str:
    db = desk.desk.pool
    await db.execute(
        "INSERT INTO customers (customer_id, name, tier, phone) VALUES ('cu-1', 'Mei Lin', 'vip',"
        " '+31300001') ON CONFLICT DO NOTHING"
    )
    await db.execute(
        "INSERT INTO customer_balances (customer_id, account, balance, overdue_days)"
        " VALUES ('cu-1', 'energy', 412.50, 64) ON CONFLICT DO NOTHING"
    )
    return "cu-1"


def step_path(contact_id: str, step: str) -> str:
    return f"/api/contacts/{contact_id}/guide/steps/{step}"


async def test_a_guided_contact_runs_through_its_steps_audited(
    desk: RunningDesk, bus: Bus, guide_settings: Settings, customer: str
) -> None:
    async with aiohttp.ClientSession() as http:
        floor = Floor(desk, bus, http, "guided")
        ann = await floor.agent("ann", {"account": 5})
        await floor.contact("g-1", {"account": 1}, customer)
        _, offer = await floor.answered("g-1")
        guide = offer["guide"]
        assert guide["guide_id"] == "address_change" and guide["status"] == "active"
        first = guide["current_step"]
        assert first["id"] == "verify_identity" and first["options"] == ["yes", "no"]
        assert first["data"]["profile"]["name"] == "Mei Lin" and first["data"]["tier"] == "vip"

        status, body = await ann.call("POST", step_path("g-1", "change_address"), {"value": "x"})
        assert status == 409 and body["kind"] == "precondition"
        assert body["steps"] == ["verify_identity", "check_arrears"]
        status, body = await ann.call("POST", step_path("g-1", "verify_identity"), {"value": "yes"})
        assert status == 200 and body["current_step"]["id"] == "check_arrears"
        [balance] = body["current_step"]["data"]["balances"]
        assert balance["balance"] == "412.50" and balance["overdue_days"] == 64
        path = step_path("g-1", "check_arrears")
        assert (await ann.call("POST", path, {"value": "none"}))[1]["current_step"]["id"] == (
            "change_address"
        )
        note = {"text": "moving to Utrecht next month"}
        assert (await ann.call("POST", "/api/contacts/g-1/guide/notes", note))[0] == 200

        status, body = await ann.call("POST", "/api/contacts/g-1/complete", {})
        assert status == 409 and body["kind"] == "missing_required"
        assert body["steps"] == ["change_address"] and "change_address" in body["error"]
        path = step_path("g-1", "change_address")
        assert (await ann.call("POST", path, {"value": "Oudegracht 1"}))[0] == 200
        skip = {"reason": "customer in a hurry"}
        path = step_path("g-1", "confirm_change") + "/skip"
        assert (await ann.call("POST", path, {"reason": ""}))[0] == 400
        assert (await ann.call("POST", path, skip))[0] == 200
        status, body = await ann.call("POST", "/api/contacts/g-1/complete", {})
        assert status == 200, body
        await floor.stop()

    db = desk.desk.pool
    rows = await db.fetch(
        "SELECT kind, step_id, value, reason, agent_id FROM guide_audit"
        " WHERE contact_id = 'g-1' ORDER BY seq"
    )
    assert [(r["kind"], r["step_id"]) for r in rows] == [
        ("step_started", "verify_identity"),
        ("step_completed", "verify_identity"),
        ("step_started", "check_arrears"),
        ("step_completed", "check_arrears"),
        ("step_started", "change_address"),
        ("note_added", "change_address"),
        ("step_completed", "change_address"),
        ("step_started", "confirm_change"),
        ("step_skipped", "confirm_change"),
        ("guide_completed", None),
    ]
    assert rows[8]["reason"] == "customer in a hurry" and {r["agent_id"] for r in rows} == {"ann"}
    missing = "SELECT contact_id, missing_step FROM guide_completed_missing_required"
    assert await db.fetch(missing) == []
    times = await db.fetch("SELECT step_id, runs FROM guide_step_times WHERE guide_id = $1",
                           "address_change")  # fmt: skip
    assert {r["step_id"] for r in times} >= {"verify_identity", "change_address"}

    # a contact completed behind the guide's back (not through the desk) shows in the view
    await db.execute(
        "INSERT INTO guide_runs (contact_id, guide_id, version, pool_id, status, seq,"
        " required_steps, state, started_at) SELECT 'g-rogue', guide_id, version, pool_id,"
        " 'active', 1, required_steps, state, started_at FROM guide_runs WHERE contact_id = 'g-1'"
    )
    await db.execute(
        "INSERT INTO contacts (contact_id, pool_id, completed_at) VALUES ('g-rogue', 'guided',"
        " now()) ON CONFLICT (contact_id) DO UPDATE SET completed_at = now()"
    )
    found = {(r["contact_id"], r["missing_step"]) for r in await db.fetch(missing)}
    assert found == {("g-rogue", s) for s in ("verify_identity", "check_arrears", "change_address")}

    reader = TopicReader(
        guide_settings.kafka_bootstrap_servers, guide_settings.topic_prefix, [GUIDE_EVENTS]
    )
    async with reader:
        records = Records(reader)
        await records.wait_for(gd.GuideCompleted, contact_id="g-1")
        [skipped] = records.of(gd.GuideStepSkipped, contact_id="g-1")
        assert skipped.event_id == "g-1:guide:9" and skipped.reason == "customer in a hurry"
        assert len(records.of(gd.GuideEvent, contact_id="g-1")) == len(rows)


async def test_an_escalation_keeps_its_place_and_resumes_on_the_specialists_desk(
    desk: RunningDesk, bus: Bus, customer: str
) -> None:
    db = desk.desk.pool
    async with aiohttp.ClientSession() as http:
        floor = Floor(desk, bus, http, "escalations")
        sam = await floor.agent("sam", {"collections": 5})
        await floor.contact("e-busy", {"collections": 1}, customer)
        await floor.answered("e-busy")  # the specialist is on a call
        ann = await floor.agent("ann2", {"account": 5})
        await floor.contact("e-1", {"account": 1}, customer)
        owner, _ = await floor.answered("e-1")
        assert owner is ann
        arrived = await db.fetchval(
            "SELECT arrived_at FROM routing_live_contacts WHERE contact_id = 'e-1'"
        )
        await floor.contact("e-2", {"collections": 1}, customer)  # later, same queue

        await ann.call("POST", step_path("e-1", "verify_identity"), {"value": "yes"})
        status, body = await ann.call("POST", step_path("e-1", "check_arrears"), {"value": "large"})
        assert body["current_step"]["id"] == "escalate_collections"
        note = {"text": "arrears since March; promised to pay Friday"}
        await ann.call("POST", "/api/contacts/e-1/guide/notes", note)
        path = step_path("e-1", "escalate_collections")
        status, body = await ann.call("POST", path, {"value": "done"})
        assert status == 200 and body["status"] == "escalated"
        assert body["escalated_to"] == {"collections": 1}

        async def requeued() -> bool:
            row = await db.fetchrow(
                "SELECT status, arrived_at FROM routing_live_contacts WHERE contact_id = 'e-1'"
            )
            return row is not None and row["status"] == "waiting"

        await eventually(requeued, 20, "e-1 waiting for collections")
        # the transfer sent again (as after a failed publish) is the same input: applied once
        assert (await ann.call("POST", "/api/contacts/e-1/guide/handover"))[0] == 200
        assert (
            await db.fetchval(
                "SELECT arrived_at FROM routing_live_contacts WHERE contact_id = 'e-1'"
            )
            == arrived
        )  # its original place

        assert (await sam.call("POST", "/api/contacts/e-busy/complete", {}))[0] == 200
        _, offer = await floor.answered("e-1", by=sam)  # ahead of e-2, who came later
        assert not sam.offers("e-2")
        guide = offer["guide"]
        assert guide["status"] == "active" and guide["current_step"]["id"] == "change_address"
        assert [n["text"] for n in guide["notes"]] == [note["text"]]
        status, body = await sam.call(
            "POST", step_path("e-1", "change_address"), {"value": "Oudegracht 1"}
        )
        assert status == 200, body
        await sam.call("POST", step_path("e-1", "confirm_change"), {"value": "done"})
        assert (await sam.call("POST", "/api/contacts/e-1/complete", {}))[0] == 200
        await floor.stop()
    kinds = [
        (r["kind"], r["agent_id"])
        for r in await db.fetch(
            "SELECT kind, agent_id FROM guide_audit WHERE contact_id = 'e-1' ORDER BY seq"
        )
    ]
    assert ("guide_escalated", "ann2") in kinds and ("guide_resumed", "sam") in kinds
    assert kinds[-1] == ("guide_completed", "sam")


async def test_the_guide_panel_in_headless_chromium(
    desk: RunningDesk, bus: Bus, customer: str
) -> None:
    executable = await asyncio.to_thread(chromium_path)
    if executable is None:
        pytest.skip(
            "chromium is not installed and scripts/install-test-deps.sh could not install it"
        )
    async with aiohttp.ClientSession() as http:
        floor = Floor(desk, bus, http, "panel")
        pia = await floor.agent("pia", {"delivery": 5})
        async with Browser(executable) as browser:

            def q(selector: str) -> str:
                return f"document.querySelector({json.dumps(selector)})"

            await browser.goto(f"http://127.0.0.1:{desk.port}/")
            await browser.sign_in_to_desk(pia.token)
            await browser.wait_for(f"{q('#guide-panel')}.dataset.ready === '1'")
            await floor.contact("p-1", {"delivery": 1}, customer)
            await floor.answered("p-1")
            card = "#guide-panel .guide[data-contact-id='p-1']"

            async def current(step: str) -> str:
                await browser.wait_for(f"!!{q(card + f' .guide-current[data-step={step}]')}")
                return str(await browser.evaluate(f"{q(card)}.innerText"))

            text = await current("verify_identity")
            assert "Late delivery" in text and "Mei Lin" in text and "vip" in text
            # the compensation step needs the identity check first
            await browser.evaluate(f"{q(card + ' .guide-answer[data-value=yes]')}.click()")
            await current("review_notice")
            await browser.evaluate(f"{q(card + ' .guide-note-text')}.value = 'asked twice'")
            await browser.evaluate(f"{q(card + ' .guide-note')}.click()")
            await browser.wait_for(f"{q(card + ' .guide-notes')}.innerText.includes('asked twice')")
            await browser.evaluate(f"{q(card + ' .guide-skip')}.click()")  # no reason: refused
            await browser.wait_for(f"{q(card + ' .guide-error')}.innerText.includes('reason')")
            await browser.evaluate(f"{q(card + ' .guide-skip-reason')}.value = 'notice read'")
            await browser.evaluate(f"{q(card + ' .guide-skip')}.click()")
            await current("offer_compensation")
            missing = await browser.evaluate(f"{q(card + ' .guide-missing')}.innerText")
            assert "review notice" in missing and "offer compensation" in missing
            await browser.evaluate(f"{q(card + ' .guide-answer[data-value=accepted]')}.click()")
            await browser.wait_for(
                f"!!{q(card + ' li[data-step=offer_compensation][data-status=completed]')}"
            )
        await floor.stop()
    rows = await desk.desk.pool.fetch(
        "SELECT kind, step_id, reason FROM guide_audit WHERE contact_id = 'p-1' ORDER BY seq"
    )
    assert ("step_skipped", "review_notice", "notice read") in [tuple(r) for r in rows]
    assert ("note_added", "review_notice", "") in [tuple(r) for r in rows]
