"""The satisfaction survey on the real broker, PostgreSQL, desk, gateway and the Twilio-shaped
API: planned when the agent completes an SMS contact (once), sent by SMS through the notifier's
survey pass, answered by the customer's SMS reply, landing in the table and the metric; a
customer who opted out by STOP gets none."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest
from prometheus_client import REGISTRY

from services.conversations import Conversation, ConversationStore
from services.desk.app import RunningDesk, running_desk
from services.desk.auth import issue_token
from services.gateway.app import RunningGateway, running_gateway
from services.notifier.main import build_notifier, build_survey_sender
from services.runtime.broker import LocalBroker
from streams.platform.settings import Settings
from streams.surveys.rules import SMS_TEXT
from tests.support.channels import OUR_NUMBER, channel_values, post_webhook
from tests.support.desk_client import AgentClient
from tests.support.environment import isolated_settings
from tests.support.twilio_api import TwilioApiServer, notifier_settings

pytestmark = pytest.mark.integration

POOL = "csat"
MEI, OPTED_OUT = "+31611111111", "+31622222222"


@pytest.fixture(scope="module")
async def twilio() -> AsyncIterator[TwilioApiServer]:
    async with TwilioApiServer() as server:
        yield server


@pytest.fixture(scope="module")
async def survey_settings(
    broker: LocalBroker, postgres_server_url: str, twilio: TwilioApiServer
) -> Settings:
    base = await isolated_settings(broker, postgres_server_url, **channel_values(twilio))
    return notifier_settings(base, twilio, twilio_from_number=OUR_NUMBER)


@pytest.fixture(scope="module")
async def desk(survey_settings: Settings) -> AsyncIterator[RunningDesk]:
    async with running_desk(survey_settings) as running:
        yield running


@pytest.fixture(scope="module")
async def gateway(survey_settings: Settings) -> AsyncIterator[RunningGateway]:
    async with running_gateway(survey_settings.with_values(gateway_pool_id=POOL)) as running:
        yield running


async def sms_from(
    http: aiohttp.ClientSession, gateway: RunningGateway, twilio: TwilioApiServer, number: str,
    body: str,
) -> str:  # fmt: skip
    params = {
        "AccountSid": twilio.account_sid,
        "MessageSid": "SM" + uuid.uuid4().hex,
        "From": number,
        "To": OUR_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }
    base = f"http://127.0.0.1:{gateway.http_port}"
    status, text = await post_webhook(http, base, "/twilio/sms", params, twilio.auth_token)
    assert status == 200, text
    return text


async def completed_sms_contact(
    db: asyncpg.Pool, agent: AgentClient, contact_id: str, customer_id: str, number: str
) -> None:
    """An SMS contact the agent holds (as the interaction log records it), completed."""
    await ConversationStore(db).create(
        Conversation(contact_id, POOL, "sms", number, customer_id=customer_id,
                     customer_class="vip")
    )  # fmt: skip
    await db.execute(
        "INSERT INTO contacts (contact_id, pool_id, agent_id) VALUES ($1, $2, $3)",
        contact_id,
        POOL,
        agent.agent_id,
    )
    status, body = await agent.call("POST", f"/api/contacts/{contact_id}/complete", {})
    assert status == 200, body


def answers(channel: str = "sms") -> float:
    labels = {"customer_class": "vip", "channel": channel, "reason": "none"}
    return REGISTRY.get_sample_value("contactcenter_csat_answers_total", labels) or 0.0


async def test_a_survey_sent_by_sms_is_answered_and_lands_in_the_metric(
    desk: RunningDesk, gateway: RunningGateway, twilio: TwilioApiServer,
    survey_settings: Settings,
) -> None:  # fmt: skip
    db = desk.desk.pool
    await db.execute(
        "INSERT INTO customers (customer_id, tier, phone) VALUES ('mei', 'vip', $1),"
        " ('ola', 'vip', $2)",
        MEI,
        OPTED_OUT,
    )
    token = await issue_token(db, "zoe", POOL)
    before = answers()
    async with aiohttp.ClientSession() as http:
        zoe = AgentClient(http, f"http://127.0.0.1:{desk.port}", "zoe", token)
        await sms_from(http, gateway, twilio, OPTED_OUT, "STOP")
        await completed_sms_contact(db, zoe, "s-mei", "mei", MEI)
        await completed_sms_contact(db, zoe, "s-ola", "ola", OPTED_OUT)
        assert (await zoe.call("POST", "/api/contacts/s-mei/complete", {}))[0] == 200  # again
        rows = {
            r["contact_id"]: (r["status"], r["status_reason"])
            for r in await db.fetch("SELECT * FROM csat_surveys ORDER BY contact_id")
        }
        assert rows == {
            "s-mei": ("pending", ""),
            "s-ola": ("suppressed", "no consent for sms"),
        }

        notifier, sms = build_notifier(survey_settings, db)
        try:
            assert await build_survey_sender(survey_settings, db, notifier).run_once() == 1
        finally:
            await sms.close()
        [sent] = twilio.created_messages()
        assert sent["To"] == MEI and sent["Body"] == SMS_TEXT

        reply = await sms_from(http, gateway, twilio, MEI, "5 quick and kind")
        assert "Thank you" in reply
    row = await db.fetchrow("SELECT * FROM csat_surveys WHERE contact_id = 's-mei'")
    assert (row["status"], row["score"], row["comment"]) == ("answered", 5, "quick and kind")
    assert answers() == before + 1
    labels = {"customer_class": "vip", "channel": "sms", "reason": "none"}
    assert REGISTRY.get_sample_value("contactcenter_csat_score_total", labels) >= 5
    [by_agent] = await db.fetch("SELECT * FROM csat_by_agent WHERE agent_id = 'zoe'")
    assert (by_agent["answers"], float(by_agent["mean_score"])) == (1, 5.0)
    # the reply was the answer, not a new contact
    assert (
        await db.fetchval("SELECT count(*) FROM channel_conversations WHERE address = $1", MEI) == 1
    )


async def test_a_chat_prompt_links_to_the_survey_page_answered_once(desk: RunningDesk) -> None:
    db = desk.desk.pool
    token = await issue_token(db, "yan", POOL)
    base = f"http://127.0.0.1:{desk.port}"
    async with aiohttp.ClientSession() as http:
        yan = AgentClient(http, base, "yan", token)
        await ConversationStore(db).create(Conversation("chat-1", POOL, "chat", "visitor-1"))
        await db.execute(
            "INSERT INTO contacts (contact_id, pool_id, agent_id) VALUES ('chat-1', $1, 'yan')",
            POOL,
        )
        assert (await yan.call("POST", "/api/contacts/chat-1/complete", {}))[0] == 200
        survey = await db.fetchrow("SELECT * FROM csat_surveys WHERE contact_id = 'chat-1'")
        assert survey["status"] == "sent" and survey["channel"] == "chat"
        [prompt] = await db.fetch(
            "SELECT body FROM channel_messages WHERE contact_id = 'chat-1' AND direction = 'out'"
        )
        link = f"/survey/chat-1?t={survey['answer_token']}"
        assert prompt["body"].endswith(link)
        async with http.get(base + link) as page:
            assert page.status == 200 and 'name="score"' in await page.text()
        form = {"t": survey["answer_token"], "score": "3", "comment": "fine"}
        async with http.post(base + "/survey/chat-1", data=form) as answered:
            assert answered.status == 200 and "Thank you" in await answered.text()
        async with http.post(base + "/survey/chat-1", data=form) as again:
            assert again.status == 409  # once
        async with http.post(base + "/survey/chat-1", data={**form, "t": "forged"}) as forged:
            assert forged.status == 409
    row = await db.fetchrow(
        "SELECT status, score, comment FROM csat_surveys WHERE contact_id = 'chat-1'"
    )
    assert tuple(row) == ("answered", 3, "fine")
