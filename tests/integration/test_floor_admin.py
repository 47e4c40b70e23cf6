"""Running the floor without SQL, on the real broker and PostgreSQL with a real routing worker
and the desk: agents created and changed through ``contactcenter admin`` and the admin API
reach routing without a restart, a pool's class weights change its next decision, and a
supervisor's actions (force not ready, move, offer to a named agent, end) are routing inputs;
every admin and supervisor route refuses an agent's token."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from schemas import contacts as ct
from schemas.topics import CONTACTS
from services.admin.api import ADMIN_ROUTES
from services.bus import Bus, open_bus
from services.desk.app import RunningDesk, running_desk
from services.runtime.broker import LocalBroker
from services.supervisor.api import SUPERVISOR_ROUTES
from streams.platform.settings import Settings, child_environment
from tests.support.desk_client import AgentClient, offer_for
from tests.support.environment import isolated_settings
from tests.support.workers import eventually, running_worker

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def floor_settings(broker: LocalBroker, postgres_server_url: str) -> Settings:
    return await isolated_settings(
        broker, postgres_server_url, desk_port=0, offer_timeout_seconds=120.0, aging_per_second=1.0
    )


@pytest.fixture(scope="module")
def worker(floor_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    log = tmp_path_factory.mktemp("floor-worker") / "worker.log"
    with running_worker(floor_settings, log):
        yield log


@pytest.fixture(scope="module")
async def desk(floor_settings: Settings, worker: Path) -> AsyncIterator[RunningDesk]:
    async with running_desk(floor_settings) as running:
        yield running


@pytest.fixture(scope="module")
async def bus(floor_settings: Settings) -> AsyncIterator[Bus]:
    async with open_bus(floor_settings.kafka_bootstrap_servers, floor_settings.topic_prefix) as b:
        yield b


def admin_cli(settings: Settings, *args: str) -> dict[str, Any]:
    """``contactcenter admin ARGS`` as a separate process; its JSON answer."""
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "admin", *args],
        env=child_environment(settings),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return dict(json.loads(done.stdout))


@pytest.fixture(scope="module")
def root_token(floor_settings: Settings) -> str:
    """The first admin, made from the command line (as an operator bootstraps a site)."""
    admin_cli(floor_settings, "agent-create", "root", "--pool", "ops", "--role", "admin")
    return str(admin_cli(floor_settings, "token-issue", "root")["token"])


class Api:
    def __init__(self, http: aiohttp.ClientSession, base: str, token: str) -> None:
        self.http, self.base, self.token = http, base, token

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.http.request(method, self.base + path, json=body, headers=headers) as r:
            text = await r.text()
            try:
                return r.status, json.loads(text)
            except json.JSONDecodeError:
                return r.status, text

    async def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = await self.call(method, path, body)
        assert status < 300, (status, answer)
        return answer


def base_of(desk: RunningDesk) -> str:
    return f"http://127.0.0.1:{desk.port}"


async def new_agent(admin: Api, agent_id: str, pool_id: str, **fields: Any) -> str:
    await admin.ok(
        "POST", "/api/admin/agents", {"agent_id": agent_id, "pool_id": pool_id, **fields}
    )
    return str((await admin.ok("POST", f"/api/admin/agents/{agent_id}/token"))["token"])


async def at_work(
    http: aiohttp.ClientSession,
    desk: RunningDesk,
    agent_id: str,
    token: str,
    db: asyncpg.Pool,
    pool_id: str,
) -> AgentClient:
    """Signed in, logged in and ready, as routing sees it."""
    agent = await AgentClient(http, base_of(desk), agent_id, token).start()
    assert (await agent.call("POST", "/api/login"))[0] == 200
    assert (await agent.call("POST", "/api/state", {"state": "ready"}))[0] == 200
    await routing_agent_is(db, pool_id, agent_id, "ready")
    return agent


async def routing_agent_is(db: asyncpg.Pool, pool_id: str, agent_id: str, status: str) -> None:
    async def there() -> bool:
        found = await db.fetchval(
            "SELECT status FROM routing_agents WHERE pool_id = $1 AND agent_id = $2",
            pool_id,
            agent_id,
        )
        return bool(found == status)

    await eventually(there, 30, f"{agent_id} {status} in routing")


async def waiting(db: asyncpg.Pool, pool_id: str, count: int) -> None:
    async def queued() -> bool:
        n = await db.fetchval(
            "SELECT count(*) FROM routing_live_contacts WHERE pool_id = $1 AND status = 'waiting'",
            pool_id,
        )
        return bool(n == count)

    await eventually(queued, 30, f"{count} waiting in {pool_id}")


async def arrive(bus: Bus, pool_id: str, contact_id: str, **fields: Any) -> None:
    fields.setdefault("channel", ct.Channel.CHAT)
    record = ct.ContactArrived(pool_id=pool_id, contact_id=contact_id, **fields)
    await bus.publish(CONTACTS, contact_id, record)


async def test_an_agent_created_through_the_command_line_gets_a_contact_needing_their_skills(
    desk: RunningDesk, bus: Bus, floor_settings: Settings, http: aiohttp.ClientSession
) -> None:
    created = admin_cli(
        floor_settings,
        "agent-create",
        "ann",
        "--pool",
        "floor-a",
        "--name",
        "Ann",
        "--skill",
        "lang_fr=6",
        "--capacity",
        "chat=2",
        "--language",
        "fr",
        "--reason",
        "hired",
    )
    assert created["skills"] == {"lang_fr": 6} and created["capacity"] == {"chat": 2}
    token = str(admin_cli(floor_settings, "token-issue", "ann")["token"])
    stored = await desk.desk.pool.fetchval("SELECT token_hash FROM agents WHERE agent_id = 'ann'")
    assert stored and token not in stored
    jar = aiohttp.CookieJar(unsafe=True)  # the sign-in page's way: the token into a cookie
    async with aiohttp.ClientSession(cookie_jar=jar) as page:
        async with page.post(base_of(desk) + "/session", json={"token": token}) as signed_in:
            assert signed_in.status == 200
        async with page.get(base_of(desk) + "/api/me") as me:
            assert (await me.json())["role"] == "agent"
    ann = await at_work(http, desk, "ann", token, desk.desk.pool, "floor-a")
    try:
        await arrive(bus, "floor-a", "fr-1", skills={"lang_fr": 5})
        agent, offer = await offer_for([ann], "fr-1")
        assert agent is ann and offer["agent_id"] == "ann"
        # a new skill while logged in: no restart, no new login
        admin_cli(floor_settings, "agent-update", "ann", "--skill", "lang_fr=6,lang_de=4")
        await arrive(bus, "floor-a", "de-1", skills={"lang_de": 3})
        agent, _ = await offer_for([ann], "de-1")
        assert agent is ann
        capacity = await desk.desk.pool.fetchval(
            "SELECT state->'capacity' FROM routing_agents WHERE agent_id = 'ann'"
        )
        assert json.loads(capacity) == {"chat": 2}
    finally:
        await ann.stop()
    audit = admin_cli(floor_settings, "audit", "--subject-kind", "agent", "--subject-id", "ann")
    actions = [e["action"] for e in audit["entries"]]
    assert actions == ["agent.update", "token.issue", "agent.create"]
    assert audit["entries"][0]["before"]["skills"] == {"lang_fr": 6}
    assert audit["entries"][0]["after"]["skills"] == {"lang_de": 4, "lang_fr": 6}
    assert all(token not in json.dumps(e) for e in audit["entries"])


async def test_a_pools_class_weights_change_its_next_decision(
    desk: RunningDesk, bus: Bus, root_token: str, http: aiohttp.ClientSession
) -> None:
    db, pool_id = desk.desk.pool, "floor-w"
    admin = Api(http, base_of(desk), root_token)
    token = await new_agent(admin, "wes", pool_id, capacity={"chat": 1})
    wes = await at_work(http, desk, "wes", token, db, pool_id)
    try:
        await arrive(bus, pool_id, "w0")
        _, first = await offer_for([wes], "w0")
        assert (await wes.call("POST", f"/api/offers/{first['offer_id']}/accept"))[0] == 200
        await arrive(bus, pool_id, "w-standard", customer_class="standard")
        await waiting(db, pool_id, 1)
        await arrive(bus, pool_id, "w-vip", customer_class="vip")
        await waiting(db, pool_id, 2)
        policy = {
            "class_weights": {"vip": 0, "standard": 100},
            "aging_per_second": 0,
            "service_levels": [{"customer_class": "vip", "threshold_seconds": 30, "target": 0.9}],
            "reason": "standard backlog",
        }
        view = await admin.ok("PUT", f"/api/admin/pools/{pool_id}/policy", policy)
        assert view["policy"]["class_weights"] == {"standard": 100.0, "vip": 0.0}

        async def applied() -> bool:
            stored = await db.fetchval(
                "SELECT policy FROM routing_pools WHERE pool_id = $1", pool_id
            )
            return stored is not None and json.loads(stored)["class_weights"] == {
                "standard": 100.0,
                "vip": 0.0,
            }

        await eventually(applied, 30, "routing applying the pool's policy")
        assert (await wes.call("POST", "/api/contacts/w0/complete", {"disposition": "ok"}))[
            0
        ] == 200
        _, offer = await offer_for([wes], "w-standard")
        assert "standard priority 100.0" in offer["explanation"]["reason"]
        assert not wes.offers("w-vip")
    finally:
        await wes.stop()


async def test_a_supervisor_forcing_an_agent_not_ready_stops_offers_to_them(
    desk: RunningDesk, bus: Bus, root_token: str, http: aiohttp.ClientSession
) -> None:
    db, pool_id = desk.desk.pool, "floor-f"
    admin = Api(http, base_of(desk), root_token)
    tokens = {a: await new_agent(admin, a, pool_id) for a in ("f1", "f2")}
    boss = Api(
        http,
        base_of(desk),
        await new_agent(admin, "boss-f", "ops", role="supervisor", supervised_pools=[pool_id]),
    )
    f1 = await at_work(http, desk, "f1", tokens["f1"], db, pool_id)
    f2 = await at_work(http, desk, "f2", tokens["f2"], db, pool_id)
    try:
        accepted = await boss.ok(
            "POST",
            f"/api/supervisor/pools/{pool_id}/agents/f1/state",
            {"state": "not_ready", "reason": "coaching"},
        )
        assert accepted["action"] == "agent.force_state"

        async def told() -> bool:
            return bool(f1.of("agent_state_changed", reason="supervisor: coaching"))

        await eventually(told, 10, "f1 told it is not ready")
        assert (
            f1.of("agent_state_changed", reason="supervisor: coaching")[0]["state"] == "not_ready"
        )
        for n in range(3):
            await arrive(bus, pool_id, f"k{n}")
        for n in range(3):
            agent, _ = await offer_for([f1, f2], f"k{n}", timeout=10)
            assert agent is f2
        assert not f1.offers()
        entry = (await admin.ok("GET", "/api/admin/audit?subject_id=f1&limit=1"))["entries"][0]
        assert (entry["actor_id"], entry["reason"]) == ("boss-f", "coaching")
        assert entry["before"]["state"] == "ready"
    finally:
        await f1.stop()
        await f2.stop()


async def test_a_moved_contact_keeps_its_arrival_time_in_the_log(
    desk: RunningDesk, bus: Bus, root_token: str, http: aiohttp.ClientSession
) -> None:
    db = desk.desk.pool
    admin = Api(http, base_of(desk), root_token)
    boss = Api(
        http,
        base_of(desk),
        await new_agent(
            admin,
            "boss-m",
            "ops",
            role="supervisor",
            supervised_pools=["floor-m", "floor-n", "floor-p"],
        ),
    )
    arrived = (datetime.now(UTC) - timedelta(seconds=45)).replace(microsecond=0)
    await arrive(bus, "floor-m", "m1", arrived_at=arrived)  # nobody in floor-m: it waits
    await waiting(db, "floor-m", 1)
    token = await new_agent(admin, "n1", "floor-n")
    n1 = await at_work(http, desk, "n1", token, db, "floor-n")
    try:
        status, _ = await boss.call(
            "POST",
            "/api/supervisor/pools/floor-m/contacts/m1/move",
            {"to_pool_id": "elsewhere", "reason": "x"},
        )
        assert status == 403  # not a pool this supervisor supervises
        await boss.ok(
            "POST",
            "/api/supervisor/pools/floor-m/contacts/m1/move",
            {"to_pool_id": "floor-n", "reason": "french speakers there"},
        )
        _, offer = await offer_for([n1], "m1")
        assert offer["offer_id"] == "m1:1"

        async def logged() -> bool:
            rows = await db.fetch(
                "SELECT type, pool_id, payload FROM interaction_events WHERE contact_id = 'm1'"
                " AND type IN ('contact_queued', 'contact_moved') ORDER BY occurred_at"
            )
            return len(rows) >= 3

        await eventually(logged, 30, "the move in the interaction log")
        rows = await db.fetch(
            "SELECT type, pool_id, payload FROM interaction_events WHERE contact_id = 'm1'"
            " AND type IN ('contact_queued', 'contact_moved') ORDER BY occurred_at, type"
        )
        seen = [(r["type"], r["pool_id"]) for r in rows]
        assert ("contact_moved", "floor-m") in seen and ("contact_queued", "floor-n") in seen
        for row in rows:
            body = json.loads(row["payload"])
            assert datetime.fromisoformat(body["arrived_at"]) == arrived, row["type"]
        logged_arrival = await db.fetchval(
            "SELECT arrived_at FROM contacts WHERE contact_id = 'm1'"
        )
        assert logged_arrival == arrived

        # the caller of a moved contact hangs up: the gateway names the pool it arrived in
        await arrive(bus, "floor-m", "m2")
        await waiting(db, "floor-m", 1)
        await boss.ok(
            "POST",
            "/api/supervisor/pools/floor-m/contacts/m2/move",
            {"to_pool_id": "floor-p", "reason": "overflow"},
        )
        await waiting(db, "floor-p", 1)
        await bus.publish(CONTACTS, "m2", ct.ContactAbandoned(pool_id="floor-m", contact_id="m2"))
        await waiting(db, "floor-p", 0)

        async def abandoned() -> bool:
            reason = await db.fetchval(
                "SELECT removed_reason FROM contacts WHERE contact_id = 'm2'"
            )
            return bool(reason == "abandoned")

        await eventually(abandoned, 30, "the moved contact's abandonment in the log")
    finally:
        await n1.stop()


async def test_a_stuck_unservable_contact_offered_to_a_named_agent_then_ended(
    desk: RunningDesk, bus: Bus, root_token: str, http: aiohttp.ClientSession
) -> None:
    db, pool_id = desk.desk.pool, "floor-o"
    admin = Api(http, base_of(desk), root_token)
    boss = Api(
        http,
        base_of(desk),
        await new_agent(admin, "boss-o", "ops", role="supervisor", supervised_pools=[pool_id]),
    )
    token = await new_agent(admin, "o1", pool_id, skills={"billing": 5})
    o1 = await at_work(http, desk, "o1", token, db, pool_id)
    try:
        await arrive(bus, pool_id, "rare-1", skills={"tax_law": 8})
        await waiting(db, pool_id, 1)
        view = await boss.ok("GET", f"/api/supervisor/pools/{pool_id}/floor")
        [line] = view["waiting"]
        assert line["contact_id"] == "rare-1" and line["unservable"] is True
        assert view["queues"][0]["unservable"] == 1
        await boss.ok(
            "POST",
            f"/api/supervisor/pools/{pool_id}/contacts/rare-1/offer",
            {"agent_id": "o1", "reason": "o1 can look it up"},
        )
        _, offer = await offer_for([o1], "rare-1")
        assert offer["explanation"]["trigger"] == "supervisor"
        assert (await o1.call("POST", f"/api/offers/{offer['offer_id']}/reject", {}))[0] == 200
        await waiting(db, pool_id, 1)
        await boss.ok(
            "POST",
            f"/api/supervisor/pools/{pool_id}/contacts/rare-1/end",
            {"reason": "customer reached by phone"},
        )
        await waiting(db, pool_id, 0)

        async def removed() -> bool:
            reason = await db.fetchval(
                "SELECT removed_reason FROM contacts WHERE contact_id = 'rare-1'"
            )
            return bool(reason == "ended_by_supervisor")

        await eventually(removed, 30, "the end in the interaction log")
        status, answer = await boss.call(
            "POST", f"/api/supervisor/pools/{pool_id}/contacts/rare-1/end", {"reason": "again"}
        )
        assert status == 404, answer
    finally:
        await o1.stop()


def _path(template: str) -> str:
    return template.format(agent_id="x1", pool_id="floor-x", contact_id="c1")


async def test_an_agent_token_gets_403_on_every_admin_and_supervisor_route(
    desk: RunningDesk, root_token: str, http: aiohttp.ClientSession
) -> None:
    admin = Api(http, base_of(desk), root_token)
    agent = Api(http, base_of(desk), await new_agent(admin, "plain", "floor-x"))
    boss = Api(
        http,
        base_of(desk),
        await new_agent(admin, "boss-x", "ops", role="supervisor", supervised_pools=["floor-y"]),
    )
    nobody = Api(http, base_of(desk), "not-a-token")
    for route in ADMIN_ROUTES + SUPERVISOR_ROUTES:
        path = _path(route.path)
        assert (await agent.call(route.method, path, {}))[0] == 403, route.operation_id
        assert (await nobody.call(route.method, path, {}))[0] == 401, route.operation_id
        if route in ADMIN_ROUTES or "{pool_id}" in route.path:  # floor-x is not boss-x's
            assert (await boss.call(route.method, path, {}))[0] == 403, route.operation_id
    assert (await boss.ok("GET", "/api/supervisor/pools"))["pools"] == ["floor-y"]
    await admin.ok("PATCH", "/api/admin/agents/plain", {"enabled": False, "reason": "left"})
    assert (await agent.call("GET", "/api/me"))[0] == 401  # a disabled agent's token stops


async def test_invalid_input_gets_a_clear_4xx(
    desk: RunningDesk, root_token: str, http: aiohttp.ClientSession
) -> None:
    admin = Api(http, base_of(desk), root_token)
    status, answer = await admin.call(
        "POST",
        "/api/admin/agents",
        {"agent_id": "bad", "pool_id": "p", "skills": {"billing": 11}, "capacity": {"fax": 1}},
    )
    assert status == 400 and answer["error"] == "invalid request body"
    assert any(d.startswith("skills.billing") for d in answer["details"])
    assert any(d.startswith("capacity.fax") for d in answer["details"])
    await new_agent(admin, "dup", "p")
    assert (await admin.call("POST", "/api/admin/agents", {"agent_id": "dup", "pool_id": "p"}))[
        0
    ] == 409
    assert (await admin.call("PATCH", "/api/admin/agents/ghost", {"name": "x"}))[0] == 404
    status, answer = await admin.call(
        "PUT", "/api/admin/pools/p/policy", {"aging_per_second": -1, "class_weights": {}}
    )
    assert status == 400 and len(answer["details"]) == 2
    status, answer = await admin.call("PUT", "/api/admin/pools/p/policy", {"extra": 1})
    assert status == 400 and "extra" in answer["details"][0]
    status, answer = await admin.call(  # text PostgreSQL cannot store: 400, never a 500
        "PUT", "/api/admin/pools/p/canned-replies", {"replies": ["fine", "nul\x00here"]}
    )
    assert status == 400 and answer["details"] == ["body: NUL characters are not accepted"]
    async with http.get(base_of(desk) + "/openapi.json") as response:
        document = await response.json()
    assert {r.path for r in ADMIN_ROUTES} <= set(document["paths"])
    await asyncio.sleep(0)


async def test_a_pools_wrapup_codes_and_canned_replies_reach_its_agents_desk(
    desk: RunningDesk, root_token: str, http: aiohttp.ClientSession
) -> None:
    admin = Api(http, base_of(desk), root_token)
    agent = Api(http, base_of(desk), await new_agent(admin, "cody", "floor-c"))
    before = await agent.ok("GET", "/api/config")
    assert "resolved" in before["disposition_codes"]  # the desk's defaults
    await admin.ok(
        "PUT",
        "/api/admin/pools/floor-c/wrapup-codes",
        {"codes": ["refund", "replacement"], "reason": "returns season"},
    )
    await admin.ok(
        "PUT",
        "/api/admin/pools/floor-c/canned-replies",
        {"replies": ["Your refund is on its way."]},
    )
    after = await agent.ok("GET", "/api/config")
    assert after == {
        "disposition_codes": ["refund", "replacement"],
        "canned_replies": ["Your refund is on its way."],
    }
    status, answer = await admin.call(
        "PUT", "/api/admin/pools/floor-c/wrapup-codes", {"codes": ["Not A Code"]}
    )
    assert status == 400 and answer["details"][0].startswith("codes.0")


def test_the_command_line_refuses_bad_input_naming_it(floor_settings: Settings) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "admin",
            "agent-create",
            "bad",
            "--pool",
            "p1",
            "--skill",
            "billing=11",
            "--capacity",
            "fax=1",
        ],
        env=child_environment(floor_settings),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    errors = done.stderr.decode()
    assert "invalid skills.billing" in errors and "invalid capacity.fax" in errors
    missing = subprocess.run(
        [sys.executable, "-m", "services.cli", "admin", "agent-update", "ghost", "--name", "x"],
        env=child_environment(floor_settings),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 1 and "no agent 'ghost'" in missing.stderr.decode()
