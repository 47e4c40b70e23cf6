"""A SIGKILLed routing worker's replacement continues with nothing lost, on the real broker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from schemas import agents as ag
from schemas import contacts as ct
from schemas.topics import AGENT_EVENTS, CONTACTS
from services.bus import open_bus
from services.runtime.broker import free_port
from services.runtime.processes import kill, start_command, stop
from streams.platform.settings import Settings
from tests.support.routing_checks import assert_single_offers_within_capacity, offers_made
from tests.support.workers import eventually

pytestmark = pytest.mark.integration

POOL = "crash"
AGENTS = 20
CHAT_CAPACITY = 3
CONTACTS_TOTAL = 200


async def test_sigkilled_worker_is_replaced_with_nothing_lost(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.with_values(offer_timeout_seconds=3600.0)
    first = start_command("worker", settings, tmp_path / "first.log", metrics_port=free_port())
    second = None
    try:
        async with open_bus(settings.kafka_bootstrap_servers, settings.topic_prefix) as bus:
            for n in range(AGENTS):
                agent = f"agent-{n:02d}"
                await bus.publish(
                    AGENT_EVENTS,
                    agent,
                    ag.AgentLoggedIn(
                        pool_id=POOL,
                        agent_id=agent,
                        skills={"support": 5},
                        capacity={"chat": CHAT_CAPACITY},
                    ),
                )
                await bus.publish(AGENT_EVENTS, agent, ag.AgentReady(pool_id=POOL, agent_id=agent))
            connection = await asyncpg.connect(settings.require_database_url())
            try:

                async def some_routed() -> bool:
                    count = await connection.fetchval(
                        "SELECT count(*) FROM routing_contacts WHERE pool_id = $1", POOL
                    )
                    return bool(count and count >= 10)

                for n in range(CONTACTS_TOTAL):
                    contact = f"chat-{n:03d}"
                    await bus.publish(
                        CONTACTS,
                        contact,
                        ct.ContactArrived(
                            pool_id=POOL,
                            contact_id=contact,
                            channel=ct.Channel.CHAT,
                            skills={"support": 1},
                        ),
                    )
                    if n == CONTACTS_TOTAL // 3:
                        await eventually(some_routed, 60, "the first worker to route")
                        kill(first)  # SIGKILL mid-stream
                        second = start_command(
                            "worker", settings, tmp_path / "second.log", metrics_port=free_port()
                        )
                    await asyncio.sleep(0.005)

                async def all_routed() -> bool:
                    rows = await connection.fetch(
                        "SELECT status, count(*) AS n FROM routing_contacts WHERE pool_id = $1"
                        " GROUP BY status",
                        POOL,
                    )
                    return {r["status"]: r["n"] for r in rows} == {
                        "offered": AGENTS * CHAT_CAPACITY,
                        "waiting": CONTACTS_TOTAL - AGENTS * CHAT_CAPACITY,
                    }

                await eventually(all_routed, 120, "every contact offered or waiting")
                agent_rows = await connection.fetch(
                    "SELECT agent_id, state FROM routing_agents WHERE pool_id = $1", POOL
                )
                assert len(agent_rows) == AGENTS
            finally:
                await connection.close()

        # what went out on the interactions topic: never one contact offered to two agents,
        # never an agent over capacity, and replays reproduce the very same offers
        offered = await offers_made(settings, AGENTS * CHAT_CAPACITY)
        assert_single_offers_within_capacity(offered, AGENTS * CHAT_CAPACITY, CHAT_CAPACITY)
    finally:
        kill(first)
        if second is not None:
            stop(second)
