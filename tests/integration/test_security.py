"""The claims of docs/security.md, each against the real services (broker, PostgreSQL, HTTP)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from schemas import contacts as ct
from schemas.topics import CONTACTS
from services.bus import TopicReader
from services.gateway.app import RunningGateway, running_gateway
from services.runtime.broker import LocalBroker, free_port
from services.runtime.processes import kill, start_command
from services.settings import Settings
from tests.support.channels import PUBLIC_BASE, Records, post_webhook
from tests.support.environment import isolated_settings

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
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


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
