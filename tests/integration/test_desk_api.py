"""The desk's authentication and ownership rules against the real broker and PostgreSQL
(offers are produced on the offers topic directly; no routing worker needed)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from schemas import agents as ag
from schemas.routing import OfferMade
from schemas.topics import AGENT_EVENTS, OFFERS
from services.bus import TopicReader, open_bus
from services.desk.app import RunningDesk, running_desk
from services.desk.auth import issue_token
from services.runtime.broker import LocalBroker
from streams.platform.settings import Settings
from tests.support.channels import Records
from tests.support.desk_client import AgentClient
from tests.support.environment import isolated_settings
from tests.support.workers import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def desk_settings(broker: LocalBroker, postgres_server_url: str) -> Settings:
    return await isolated_settings(
        broker, postgres_server_url, desk_port=0, desk_accept_wait_seconds=1.0
    )


@pytest.fixture(scope="module")
async def desk(desk_settings: Settings) -> AsyncIterator[RunningDesk]:
    async with running_desk(desk_settings) as running:
        yield running


async def test_tokens_and_ownership(desk: RunningDesk, desk_settings: Settings) -> None:
    pool = desk.desk.pool
    tokens = {}
    for agent_id in ("ann", "ben"):
        tokens[agent_id] = await issue_token(pool, agent_id, "p1")
    stored = await pool.fetchval("SELECT token_hash FROM agents WHERE agent_id = 'ann'")
    assert stored and tokens["ann"] not in stored  # only the hash is kept
    base = f"http://127.0.0.1:{desk.port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "/api/me") as response:
            assert response.status == 401
        async with http.get(base + "/api/stream?token=wrong") as response:
            assert response.status == 401
        async with http.get(base + "/") as response:
            assert response.status == 200 and "Agent desk" in await response.text()
        ann = await AgentClient(http, base, "ann", tokens["ann"]).start()
        ben = await AgentClient(http, base, "ben", tokens["ben"]).start()
        offer = OfferMade(
            pool_id="p1",
            cause_event_id="x",
            offer_id="c1:1",
            contact_id="c1",
            agent_id="ann",
            attempt=1,
            expires_at=datetime.now(UTC) + timedelta(seconds=60),
        )
        async with open_bus(
            desk_settings.kafka_bootstrap_servers, desk_settings.topic_prefix
        ) as bus:
            await bus.publish(OFFERS, "ann", offer)

        async def offered() -> bool:
            return bool(ann.offers("c1"))

        await eventually(offered, 15, "ann's offer")
        assert not ben.offers("c1")
        assert ann.offers("c1")[0]["suggested_next_step"]
        assert (await ben.call("POST", "/api/offers/c1:1/accept"))[0] == 403
        assert (await ben.call("POST", "/api/offers/nope/accept"))[0] == 404
        assert (await ben.call("POST", "/api/contacts/c1/complete", {}))[0] == 404
        assert (await ann.call("POST", "/api/state", {"state": "dancing"}))[0] == 400
        status, body = await ann.call("POST", "/api/offers/c1:1/accept")
        assert status == 202 and body["status"] == "pending"  # no routing here to assign
        assert (await ann.call("POST", "/api/offers/c1:1/reject", {"reason": "busy"}))[0] == 200
        await ann.stop()
        await ben.stop()
    reader = TopicReader(
        desk_settings.kafka_bootstrap_servers, desk_settings.topic_prefix, [AGENT_EVENTS]
    )
    async with reader:
        records = Records(reader)
        [rejected] = await records.wait_for(ag.OfferRejected, agent_id="ann")
        assert rejected.offer_id == "c1:1" and rejected.reason == "busy"
        assert records.of(ag.OfferAccepted, agent_id="ann")
        assert not records.of(ag.OfferAccepted, agent_id="ben")


async def test_undecodable_bodies_get_400_with_a_reason(
    desk: RunningDesk, desk_settings: Settings
) -> None:
    token = await issue_token(desk.desk.pool, "cid", "p1")
    base = f"http://127.0.0.1:{desk.port}"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:
        for path, body in (("/api/state", b'{"state": "ready\xff"}'), ("/api/state", b"\xff\xfe")):
            async with http.post(base + path, data=body, headers=headers) as response:
                assert response.status == 400
                assert "utf-8" in (await response.text()).lower()
        charset = {**headers, "Content-Type": "application/json; charset=nope"}
        async with http.post(base + "/api/state", data=b"{}", headers=charset) as response:
            assert response.status == 415
            assert "nope" in await response.text()
    reader = TopicReader(
        desk_settings.kafka_bootstrap_servers, desk_settings.topic_prefix, [AGENT_EVENTS]
    )
    async with reader:
        records = Records(reader)
        await records.poll()
        assert not [r for r in records.all if getattr(r, "agent_id", None) == "cid"]


async def test_the_page_signs_in_into_a_cookie_and_changes_need_its_header(
    desk: RunningDesk,
) -> None:
    pool = desk.desk.pool
    await pool.execute(
        "INSERT INTO agents (agent_id, pool_id, name) VALUES ('erin', 'default', 'Erin')"
    )
    token = await issue_token(pool, "erin")
    base = f"http://127.0.0.1:{desk.port}"
    jar = aiohttp.CookieJar(unsafe=True)  # 127.0.0.1 is an IP address
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.post(base + "/session", json={"token": "wrong"}) as response:
            assert response.status == 401
        async with http.post(base + "/session", json={"token": token}) as response:
            assert response.status == 200
            cookie = response.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        async with http.get(base + "/api/me") as response:
            assert response.status == 200 and (await response.json())["agent_id"] == "erin"
        async with http.get(base + "/api/config") as response:
            assert "resolved" in (await response.json())["disposition_codes"]
        # a change with the cookie alone (as another site's form would send it) is refused
        async with http.post(base + "/api/state", json={"state": "ready"}) as response:
            assert response.status == 403
        headers = {"X-Desk-Page": "1"}
        async with http.post(base + "/api/state", json={"state": "ready"}, headers=headers) as r:
            assert r.status == 200
        async with http.delete(base + "/session") as response:
            assert response.status == 200
        async with http.get(base + "/api/me") as response:
            assert response.status == 401
    async with aiohttp.ClientSession() as http:  # the API's bearer tokens work as before
        headers = {"Authorization": f"Bearer {token}"}
        async with http.post(base + "/api/state", json={"state": "ready"}, headers=headers) as r:
            assert r.status == 200


async def test_the_status_is_routings_with_the_time_its_status_changed_and_the_load(
    desk: RunningDesk, desk_settings: Settings
) -> None:
    """``GET /api/status``: the time in state is when routing's row changed its status (a row
    rewritten with the same status keeps it), the load per channel is routing's live contacts
    of the agent, the capacity the agent's own or else the pool's."""
    pool = desk.desk.pool
    token = await issue_token(pool, "cora", "p9")
    await pool.execute(
        "INSERT INTO routing_pools (pool_id, topic, partition, clock) VALUES ('p9', 't', 0, 0)"
    )
    await pool.execute(
        "INSERT INTO routing_agents (pool_id, agent_id, status, state) VALUES ('p9', 'cora',"
        ' \'ready\', \'{"capacity": {"chat": 2}, "reason": ""}\'::jsonb)'
    )
    since = await pool.fetchval("SELECT status_since FROM routing_agents WHERE agent_id = 'cora'")
    for contact_id, status in (("k1", "assigned"), ("k2", "offered"), ("k3", "waiting")):
        await pool.execute(
            "INSERT INTO routing_contacts (pool_id, contact_id, status, state)"
            " VALUES ('p9', $1, $2, $3::jsonb)",
            contact_id,
            status,
            json.dumps({"channel": "chat", "agent_id": "cora", "offer_id": f"{contact_id}:1"}),
        )
    # routing writes the row again (its work changed), the status stays: the time is kept
    await pool.execute(
        "UPDATE routing_agents SET state = state || '{\"missed_offers\": 1}'::jsonb,"
        " updated_at = now() WHERE agent_id = 'cora'"
    )
    base = f"http://127.0.0.1:{desk.port}"
    async with aiohttp.ClientSession() as http:
        cora = AgentClient(http, base, "cora", token)
        status, body = await cora.call("GET", "/api/status")
        assert status == 200, body
        assert body["state"] == "ready"
        assert datetime.fromisoformat(body["since"]) == since
        assert body["capacity"]["chat"] == {"load": 2, "capacity": 2}
        assert body["capacity"]["email"] == {"load": 0, "capacity": 5}
        await pool.execute("UPDATE routing_agents SET status = 'not_ready' WHERE agent_id = 'cora'")
        _status, body = await cora.call("GET", "/api/status")
        assert body["state"] == "not_ready" and datetime.fromisoformat(body["since"]) > since
