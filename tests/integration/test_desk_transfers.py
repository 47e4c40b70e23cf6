"""Transfer and consult over the desk's API against the real broker and PostgreSQL: the
refusals, a transfer to a queue as the routing input it publishes (the same event on a retry,
the note stored once), and a consult asked and answered between two agents' streams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from schemas import agents as ag
from schemas.topics import AGENT_EVENTS
from services.bus import TopicReader
from services.desk.app import RunningDesk, running_desk
from services.desk.auth import issue_token
from services.runtime.broker import LocalBroker
from streams.platform.settings import Settings
from tests.support.channels import Records
from tests.support.desk_client import AgentClient
from tests.support.environment import isolated_settings
from tests.support.workers import eventually

pytestmark = pytest.mark.integration

POOL = "p-transfer"


@pytest.fixture(scope="module")
async def desk_settings(broker: LocalBroker, postgres_server_url: str) -> Settings:
    return await isolated_settings(broker, postgres_server_url, desk_port=0)


@pytest.fixture(scope="module")
async def desk(desk_settings: Settings) -> AsyncIterator[RunningDesk]:
    async with running_desk(desk_settings) as running:
        yield running


async def test_transfer_refusals_a_queue_transfer_and_a_consult(
    desk: RunningDesk, desk_settings: Settings
) -> None:
    pool = desk.desk.pool
    tokens = {a: await issue_token(pool, a, POOL) for a in ("tia", "uma", "vic")}
    await pool.execute("UPDATE agents SET skills = '{\"billing\": 4}' WHERE agent_id = 'uma'")
    await pool.execute(  # tia holds the contact (the interaction log's open row)
        "INSERT INTO contacts (contact_id, pool_id, agent_id) VALUES ('k1', $1, 'tia')", POOL
    )
    base = f"http://127.0.0.1:{desk.port}"
    async with aiohttp.ClientSession() as http:
        tia = await AgentClient(http, base, "tia", tokens["tia"]).start()
        uma = await AgentClient(http, base, "uma", tokens["uma"]).start()
        vic = await AgentClient(http, base, "vic", tokens["vic"]).start()

        status, targets = await tia.call("GET", "/api/transfer-targets")
        assert status == 200 and targets["queues"] == ["billing"]
        assert [a["agent_id"] for a in targets["agents"]] == ["uma", "vic"]

        path = "/api/contacts/k1/transfer"
        refused: list[dict[str, Any]] = [
            {"to_agent_id": "tia"},  # oneself
            {"to_agent_id": "nobody"},  # not of the pool
            {"to_skill": "lang_fr"},  # no agent has it
            {},  # neither
            {"to_agent_id": "uma", "to_skill": "billing"},  # both
            {"to_agent_id": "uma", "note": "x" * 201},  # too long for routing's reason
        ]
        for body in refused:
            assert (await tia.call("POST", path, body))[0] == 400, body
        assert (await uma.call("POST", path, {"to_skill": "billing"}))[0] == 403

        body = {"to_skill": "billing", "note": "wants a refund", "id": "t-1"}
        for _ in range(2):  # a retry is the same transfer
            status, answer = await tia.call("POST", path, body)
            assert status == 200 and answer["to_skill"] == "billing"
        await pool.execute(  # a second contact of tia's, in wrap-up: not handed on
            "INSERT INTO contacts (contact_id, pool_id, agent_id) VALUES ('k2', $1, 'tia')", POOL
        )
        assert (await tia.call("POST", "/api/contacts/k2/wrapup"))[0] == 200
        wrapped = await tia.call("POST", "/api/contacts/k2/transfer", {"to_agent_id": "uma"})
        assert wrapped[0] == 409
        rows = await pool.fetch(
            "SELECT event_id, to_skill, note FROM desk_transfers WHERE contact_id = 'k1'"
        )
        assert [tuple(r) for r in rows] == [("k1:transfer:t-1", "billing", "wants a refund")]

        # a consult: tia asks uma; uma answers; vic cannot answer a question put to uma
        status, asked = await tia.call(
            "POST", "/api/consults", {"to_agent_id": "uma", "note": "Refund over 100?"}
        )
        assert status == 200

        async def consulted(client: AgentClient, note: str) -> bool:
            return any(
                e["event"] == "consult" and e["consult"]["note"] == note for e in client.events
            )

        await eventually(lambda: consulted(uma, "Refund over 100?"), 10, "uma's consult")
        wrong = {"to_agent_id": "tia", "note": "me?", "reply_to": asked["consult_id"]}
        assert (await vic.call("POST", "/api/consults", wrong))[0] == 400
        answer_body = {
            "to_agent_id": "tia",
            "note": "Yes, up to 150.",
            "reply_to": asked["consult_id"],
        }
        status, answered = await uma.call("POST", "/api/consults", answer_body)
        assert status == 200 and answered["reply_to"] == asked["consult_id"]
        await eventually(lambda: consulted(tia, "Yes, up to 150."), 10, "tia's answer")
        assert not await consulted(vic, "Refund over 100?")
        for client in (tia, uma, vic):
            await client.stop()

    reader = TopicReader(
        desk_settings.kafka_bootstrap_servers, desk_settings.topic_prefix, [AGENT_EVENTS]
    )
    async with reader:
        records = Records(reader)
        [transfer, *again] = await records.wait_for(ag.ContactTransferred, agent_id="tia")
        assert (transfer.event_id, transfer.skills, transfer.reason) == (
            "k1:transfer:t-1",
            {"billing": 1},
            "wants a refund",
        )
        assert transfer.to_agent_id is None
        assert all(r.event_id == transfer.event_id for r in again)  # routing drops the retry
