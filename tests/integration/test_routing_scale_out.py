"""Two workers share the pools; one is SIGKILLed and the survivor takes its pools over."""

from __future__ import annotations

import asyncio
from collections import defaultdict
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

POOLS = [f"pool-{n}" for n in range(6)]
AGENTS_PER_POOL = 4
CAPACITY = 2
CONTACTS_PER_POOL = 15


async def test_pools_spread_over_two_workers_and_survive_losing_one(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.with_values(offer_timeout_seconds=3600.0)
    workers = [
        start_command("worker", settings, tmp_path / f"w{n}.log", metrics_port=free_port())
        for n in range(2)
    ]
    try:
        async with open_bus(settings.kafka_bootstrap_servers, settings.topic_prefix) as bus:
            for pool in POOLS:
                for n in range(AGENTS_PER_POOL):
                    agent = f"{pool}-agent-{n}"
                    await bus.publish(
                        AGENT_EVENTS,
                        agent,
                        ag.AgentLoggedIn(pool_id=pool, agent_id=agent, capacity={"chat": CAPACITY}),
                    )
                    await bus.publish(
                        AGENT_EVENTS, agent, ag.AgentReady(pool_id=pool, agent_id=agent)
                    )
            connection = await asyncpg.connect(settings.require_database_url())
            try:

                async def owners_stored() -> bool:
                    owned = await connection.fetchval("SELECT count(*) FROM routing_pools")
                    return bool(owned == len(POOLS))

                await eventually(owners_stored, 60, "every pool routed")
                for n in range(CONTACTS_PER_POOL):
                    for pool in POOLS:
                        contact = f"{pool}-chat-{n}"
                        await bus.publish(
                            CONTACTS,
                            contact,
                            ct.ContactArrived(
                                pool_id=pool, contact_id=contact, channel=ct.Channel.CHAT
                            ),
                        )
                    if n == CONTACTS_PER_POOL // 2:
                        kill(workers[0])
                    await asyncio.sleep(0.05)

                expected = {
                    "offered": AGENTS_PER_POOL * CAPACITY,
                    "waiting": CONTACTS_PER_POOL - AGENTS_PER_POOL * CAPACITY,
                }

                async def all_routed() -> bool:
                    rows = await connection.fetch(
                        "SELECT pool_id, status, count(*) AS n FROM routing_contacts"
                        " GROUP BY pool_id, status"
                    )
                    by_pool: dict[str, dict[str, int]] = defaultdict(dict)
                    for row in rows:
                        by_pool[row["pool_id"]][row["status"]] = row["n"]
                    return all(by_pool.get(pool) == expected for pool in POOLS)

                await eventually(all_routed, 90, "every pool's contacts offered or waiting")
                partitions = await connection.fetch("SELECT DISTINCT partition FROM routing_pools")
                assert len(partitions) > 1, "pools should spread over partitions"
            finally:
                await connection.close()

        offered_total = len(POOLS) * AGENTS_PER_POOL * CAPACITY
        offered = await offers_made(settings, offered_total)
        assert_single_offers_within_capacity(offered, offered_total, CAPACITY)
    finally:
        kill(workers[0])
        stop(workers[1])
