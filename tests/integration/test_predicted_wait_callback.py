"""The IVR offers a callback when routing predicts a long wait: a real worker routes on the
real broker and stores its prediction in PostgreSQL, the gateway reads it while answering
signed Twilio webhooks."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import asyncpg
import pytest

from schemas import agents as ag
from schemas.routing import ContactMarkedUnservable, ContactQueued
from schemas.topics import AGENT_EVENTS, INTERACTIONS
from services.bus import TopicReader, open_bus
from services.gateway.app import running_gateway
from services.runtime.broker import LocalBroker
from tests.support.channels import PUBLIC_BASE, Records, post_webhook, seed_customer
from tests.support.environment import isolated_settings
from tests.support.workers import eventually, running_worker

pytestmark = pytest.mark.integration

TOKEN = "predicted-wait-token"
THRESHOLD = 100.0
HANDLE = 300.0  # the worker's default handle time: no call has completed yet
OFFER = "To be called back without losing your place, press 1."


def call(sid: str, **extra: str) -> dict[str, str]:
    return {"AccountSid": "AC" + "1" * 32, "CallSid": sid, "From": "+15550109999", **extra}


async def test_a_callback_is_offered_only_over_the_threshold(
    broker: LocalBroker, postgres_server_url: str, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    settings = await isolated_settings(
        broker,
        postgres_server_url,
        twilio_auth_token=TOKEN,
        public_base_url=PUBLIC_BASE,
        gateway_port=0,
        smtp_port=0,
        offer_timeout_seconds=300.0,
        default_handle_seconds=HANDLE,
        handle_prior_seconds={},  # the default handle time on every channel
        callback_offer_threshold_seconds=THRESHOLD,
    )
    pool_id = settings.gateway_pool_id
    db = await asyncpg.connect(settings.require_database_url())

    async def predicted() -> float | None:
        value: float | None = await db.fetchval(
            "SELECT predicted_wait_seconds FROM routing_predicted_waits"
            " WHERE pool_id = $1 AND customer_class = 'standard' AND channel = 'voice'",
            pool_id,
        )
        return value

    async def predicted_is(wanted: float) -> bool:
        return await predicted() == wanted

    interactions = TopicReader(
        settings.kafka_bootstrap_servers, settings.topic_prefix, [INTERACTIONS]
    )
    try:
        with running_worker(settings, tmp_path / "worker.log"):
            async with (
                running_gateway(settings) as gateway,
                open_bus(settings.kafka_bootstrap_servers, settings.topic_prefix) as bus,
                interactions,
            ):
                base = f"http://127.0.0.1:{gateway.http_port}"
                for record in (
                    ag.AgentLoggedIn(pool_id=pool_id, agent_id="a1"),
                    ag.AgentReady(pool_id=pool_id, agent_id="a1"),
                ):
                    await bus.publish(AGENT_EVENTS, "a1", record)
                await eventually(lambda: predicted_is(0.0), 60, "a free agent: no wait")

                status, body = await post_webhook(
                    http, base, "/twilio/voice/menu", call("CA-short", Digits="0"), TOKEN
                )
                assert status == 200 and "<Gather" in body
                assert OFFER not in body and "offer=callback" not in body

                # the first call is offered to the only agent: the next one waits a handle time
                await eventually(lambda: predicted_is(HANDLE), 30, "the agent taken")
                status, body = await post_webhook(
                    http, base, "/twilio/voice/menu", call("CA-long", Digits="0"), TOKEN
                )
                assert status == 200
                assert OFFER in body and "Your expected wait is about 5 minutes." in body
                assert 'action="/twilio/voice/hold?offer=callback"' in body

                # the hold loop keeps offering it
                status, body = await post_webhook(
                    http, base, "/twilio/voice/hold?offer=callback", call("CA-long"), TOKEN
                )
                assert status == 200 and OFFER in body

                records = Records(interactions)
                [short] = await records.wait_for(ContactQueued, contact_id="call-CA-short")
                [long] = await records.wait_for(ContactQueued, contact_id="call-CA-long")
                assert short.predicted_wait_seconds == 0.0
                assert long.predicted_wait_seconds == HANDLE
    finally:
        await db.close()


async def test_a_caller_no_logged_in_agent_can_take_hears_no_wait_and_is_offered_a_callback(
    broker: LocalBroker, postgres_server_url: str, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """A French-speaking caller while the only agent (ready) has no ``lang_fr``: the IVR
    never promises a wait, it says so and offers a callback; routing marks the contact
    unservable on its arrival (the same input, not a later tick) with what nobody meets."""
    settings = await isolated_settings(
        broker,
        postgres_server_url,
        twilio_auth_token=TOKEN,
        public_base_url=PUBLIC_BASE,
        gateway_port=0,
        smtp_port=0,
        offer_timeout_seconds=300.0,
    )
    pool_id = settings.gateway_pool_id
    url = settings.require_database_url()
    await seed_customer(
        url, customer_id="fr-caller", tier="standard", language="fr", phone="+15550108888"
    )
    db = await asyncpg.connect(url)
    interactions = TopicReader(
        settings.kafka_bootstrap_servers, settings.topic_prefix, [INTERACTIONS]
    )

    async def agent_stored() -> bool:
        return bool(await db.fetchval("SELECT count(*) FROM routing_agents WHERE status = 'ready'"))

    try:
        with running_worker(settings, tmp_path / "worker.log"):
            async with (
                running_gateway(settings) as gateway,
                open_bus(settings.kafka_bootstrap_servers, settings.topic_prefix) as bus,
                interactions,
            ):
                base = f"http://127.0.0.1:{gateway.http_port}"
                for record in (
                    ag.AgentLoggedIn(pool_id=pool_id, agent_id="en-1", skills={"lang_en": 5}),
                    ag.AgentReady(pool_id=pool_id, agent_id="en-1"),
                ):
                    await bus.publish(AGENT_EVENTS, "en-1", record)
                await eventually(agent_stored, 60, "the English agent ready")
                french = {**call("CA-fr", Digits="0"), "From": "+15550108888"}
                status, body = await post_webhook(http, base, "/twilio/voice/menu", french, TOKEN)
                assert status == 200
                assert "No agent who can take your call is available right now." in body
                assert OFFER in body and "shortly" not in body and "minute" not in body

                records = Records(interactions)
                [queued] = await records.wait_for(ContactQueued, contact_id="call-CA-fr")
                [marked] = await records.wait_for(ContactMarkedUnservable, contact_id="call-CA-fr")
                assert queued.no_agent_available and queued.predicted_wait_seconds is None
                assert marked.cause_event_id == queued.cause_event_id  # flagged on arrival
                assert (marked.channel, marked.requirement) == ("voice", "lang_fr>=1")
                assert marked.reason == "nobody logged in has lang_fr>=1 (best: no lang_fr)"
    finally:
        await db.close()
