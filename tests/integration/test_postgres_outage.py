"""PostgreSQL away for 30 s under a running worker: it stays up, says so, loses nothing, and
routing and the interaction log resume within a second of its return."""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path

import asyncpg
import pytest

from schemas import agents as ag
from schemas import contacts as ct
from schemas.topics import AGENT_EVENTS, CONTACTS
from services.bus import Bus, open_bus
from services.harness.pg_proxy import SwitchableProxy
from services.runtime.broker import free_port
from services.runtime.processes import start_command, stop
from streams.interaction_log import WRITER
from streams.platform.settings import Settings
from tests.support.metrics import parse_exposition
from tests.support.workers import eventually

pytestmark = pytest.mark.integration

POOL = "outage"
OUTAGE_SECONDS = 30.0
RESUME_WITHIN_SECONDS = 1.0  # after PostgreSQL is back (the reconnect probe runs every 0.2 s)
AGENTS = 3  # email capacity 5 each: 15 offered, the rest waiting


def db_up(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        samples = parse_exposition(response.read().decode())
    return {
        dict(labels)["writer"]: value
        for (name, labels), value in samples.items()
        if name == "contactcenter_db_up"
    }


async def arrive(bus: Bus, numbers: range) -> None:
    for n in numbers:
        contact = f"c{n:03d}"
        await bus.publish(
            CONTACTS,
            contact,
            ct.ContactArrived(pool_id=POOL, contact_id=contact, channel=ct.Channel.EMAIL),
        )


async def test_worker_rides_out_a_postgres_outage(settings: Settings, tmp_path: Path) -> None:
    direct = settings.require_database_url()
    proxy = SwitchableProxy(direct)
    await proxy.start()
    port = free_port()
    worker = start_command(
        "worker",
        # no offer may expire while nobody accepts during the outage
        settings.with_values(database_url=proxy.url, offer_timeout_seconds=3600.0),
        tmp_path / "w.log",
        metrics_port=port,
    )
    db = await asyncpg.connect(direct)
    try:

        async def counts() -> tuple[int, int, int]:
            row = await db.fetchrow(
                "SELECT (SELECT count(*) FROM routing_contacts WHERE pool_id = $1) AS routed,"
                " (SELECT count(*) FROM routing_contacts WHERE pool_id = $1"
                "   AND status = 'offered') AS offered,"
                " (SELECT count(*) FROM interaction_events"
                "   WHERE type = 'contact_arrived') AS logged",
                POOL,
            )
            return row["routed"], row["offered"], row["logged"]

        async with open_bus(settings.kafka_bootstrap_servers, settings.topic_prefix) as bus:
            for n in range(AGENTS):
                agent = f"a{n}"
                await bus.publish(
                    AGENT_EVENTS, agent, ag.AgentLoggedIn(pool_id=POOL, agent_id=agent)
                )
                await bus.publish(AGENT_EVENTS, agent, ag.AgentReady(pool_id=POOL, agent_id=agent))
            await arrive(bus, range(0, 10))

            async def first_part() -> bool:
                return await counts() == (10, 10, 10)

            await eventually(first_part, 60, "the first contacts routed and logged")

            await proxy.cut()
            down_since = asyncio.get_running_loop().time()
            await arrive(bus, range(10, 30))

            async def reports_down() -> bool:
                return db_up(port) == {"routing": 0.0, WRITER: 0.0}

            await eventually(reports_down, 20, "the worker to report PostgreSQL down")
            await asyncio.sleep(OUTAGE_SECONDS - (asyncio.get_running_loop().time() - down_since))
            assert worker.poll() is None, "the worker must stay up through the outage"
            assert await counts() == (10, 10, 10)  # nothing written meanwhile, nothing skipped
            await proxy.start()  # back on the same port

            async def resumed() -> bool:
                routed, _offered, logged = await counts()
                return routed > 10 and logged > 10

            # the writers probe for PostgreSQL's return rather than sleep out their backoff
            await eventually(
                resumed, RESUME_WITHIN_SECONDS, "routing and the log to resume", interval=0.05
            )

            seen: list[tuple[int, int, int]] = []

            async def caught_up() -> bool:
                seen.append(await counts())
                return seen[-1] == (30, AGENTS * 5, 30)

            try:
                await eventually(caught_up, 60, "routing and the log to catch up")
            except AssertionError as exc:
                raise AssertionError(f"{exc}; last counts {seen[-1]}") from None

            async def reports_up() -> bool:
                return db_up(port) == {"routing": 1.0, WRITER: 1.0}

            await eventually(reports_up, 20, "the worker to report PostgreSQL up")
            assert worker.poll() is None
    finally:
        await db.close()
        stop(worker)
        await proxy.cut()
