"""The desk's authentication and ownership rules against the real broker and PostgreSQL
(offers are produced on the offers topic directly; no routing worker needed)."""

from __future__ import annotations

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
