"""Routing on the real broker and PostgreSQL, through a real worker process."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from schemas import agents as ag
from schemas import contacts as ct
from schemas.base import Record
from schemas.codec import decode
from schemas.routing import DeadLettered, OfferMade
from schemas.topics import AGENT_EVENTS, CONTACTS, DEAD_LETTER, OFFERS
from services.bus import Bus, TopicReader, open_bus
from services.runtime.broker import LocalBroker
from streams.platform.settings import Settings
from tests.support.environment import isolated_settings
from tests.support.workers import eventually, running_worker

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def module_settings(broker: LocalBroker, postgres_server_url: str) -> Settings:
    return await isolated_settings(
        broker,
        postgres_server_url,
        class_weights={"vip": 100.0, "standard": 0.0},
        aging_per_second=1.0,
        offer_timeout_seconds=120.0,
    )


@pytest.fixture(scope="module")
def worker(module_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with running_worker(module_settings, log):
        yield log


@pytest.fixture(scope="module")
async def bus(module_settings: Settings) -> AsyncIterator[Bus]:
    async with open_bus(module_settings.kafka_bootstrap_servers, module_settings.topic_prefix) as b:
        yield b


class Collected:
    """Everything read so far from some topics."""

    def __init__(self, reader: TopicReader) -> None:
        self.reader = reader
        self.records: list[Record] = []

    async def poll(self) -> None:
        for _topic, _key, value in await self.reader.read(0.2):
            self.records.append(decode(value))

    def offers(self, pool_id: str) -> list[OfferMade]:
        return [r for r in self.records if isinstance(r, OfferMade) and r.pool_id == pool_id]


@pytest.fixture(scope="module")
async def offers(module_settings: Settings) -> AsyncIterator[Collected]:
    reader = TopicReader(
        module_settings.kafka_bootstrap_servers, module_settings.topic_prefix, [OFFERS]
    )
    async with reader:
        yield Collected(reader)


async def login(bus: Bus, pool: str, agent: str, skills: dict[str, int] | None = None) -> None:
    await bus.publish(
        AGENT_EVENTS, agent, ag.AgentLoggedIn(pool_id=pool, agent_id=agent, skills=skills or {})
    )
    await bus.publish(AGENT_EVENTS, agent, ag.AgentReady(pool_id=pool, agent_id=agent))


async def arrive(bus: Bus, pool: str, contact: str, klass: str, **fields: object) -> None:
    record = ct.ContactArrived(
        pool_id=pool, contact_id=contact, channel=ct.Channel.VOICE, customer_class=klass, **fields
    )
    await bus.publish(CONTACTS, contact, record)


async def next_offer(offers: Collected, pool: str, count: int) -> OfferMade:
    async def arrived() -> bool:
        await offers.poll()
        return len(offers.offers(pool)) >= count

    await eventually(arrived, 60, f"offer #{count} in pool {pool}")
    return offers.offers(pool)[count - 1]


async def waiting_in_postgres(settings: Settings, pool: str, count: int) -> None:
    connection = await asyncpg.connect(settings.require_database_url())
    try:

        async def queued() -> bool:
            waiting = await connection.fetchval(
                "SELECT count(*) FROM routing_contacts WHERE pool_id = $1 AND status = 'waiting'",
                pool,
            )
            return bool(waiting == count)

        await eventually(queued, 30, f"{count} contacts waiting in pool {pool}")
    finally:
        await connection.close()


async def test_vip_after_five_waiting_standard_gets_the_next_free_agent(
    worker: Path, bus: Bus, offers: Collected, module_settings: Settings
) -> None:
    pool = "vip-first"
    await login(bus, pool, "a1")
    await arrive(bus, pool, "s0", "standard")
    first = await next_offer(offers, pool, 1)
    assert (first.contact_id, first.agent_id) == ("s0", "a1")
    await bus.publish(
        AGENT_EVENTS, "a1", ag.OfferAccepted(pool_id=pool, agent_id="a1", offer_id=first.offer_id)
    )
    for n in range(1, 6):
        await arrive(bus, pool, f"s{n}", "standard")
    await arrive(bus, pool, "v1", "vip")
    # contacts and agent events travel on different topics and partitions: only once all six
    # are queued is "the next free agent" well defined
    await waiting_in_postgres(module_settings, pool, 6)
    await bus.publish(CONTACTS, "s0", ct.ContactEnded(pool_id=pool, contact_id="s0"))
    await bus.publish(
        AGENT_EVENTS,
        "a1",
        ag.ContactCompleted(pool_id=pool, agent_id="a1", contact_id="s0", disposition="ok"),
    )
    second = await next_offer(offers, pool, 2)
    assert (second.contact_id, second.agent_id) == ("v1", "a1")
    assert "vip" in second.explanation["reason"]
    assert len(second.explanation["candidates"]) >= 1


async def test_standard_past_the_aging_horizon_beats_a_fresh_vip(
    worker: Path, bus: Bus, offers: Collected, module_settings: Settings
) -> None:
    pool = "aging"
    long_ago = datetime.now(UTC) - timedelta(seconds=150)  # horizon: 100 / 1.0 = 100 s
    await arrive(bus, pool, "old-standard", "standard", arrived_at=long_ago)
    await arrive(bus, pool, "fresh-vip", "vip")
    await waiting_in_postgres(module_settings, pool, 2)
    await login(bus, pool, "a1")
    offer = await next_offer(offers, pool, 1)
    assert (offer.contact_id, offer.agent_id) == ("old-standard", "a1")


async def test_malformed_events_are_dead_lettered_and_routing_continues(
    worker: Path, bus: Bus, offers: Collected, module_settings: Settings
) -> None:
    pool = "dlq"
    bad = {
        b"this is not json": "not JSON",
        b'{"type": "contact_teleported", "pool_id": "dlq"}': "unknown record type",
        json.dumps(
            {
                "type": "contact_arrived",
                "schema_version": 9,
                "pool_id": pool,
                "contact_id": "x",
                "channel": "voice",
            }
        ).encode(): "unsupported schema_version",
        json.dumps(
            {"type": "contact_arrived", "pool_id": pool, "contact_id": "y", "channel": "fax"}
        ).encode(): "channel",
        json.dumps(
            {"type": "agent_logged_in", "pool_id": pool, "agent_id": "z", "skills": {"billing": 11}}
        ).encode(): "level 11",
    }
    for payload in bad:
        await bus.publish_raw(CONTACTS, b"k", payload)
    await login(bus, pool, "a1")
    await arrive(bus, pool, "good", "standard")
    offer = await next_offer(offers, pool, 1)
    assert offer.contact_id == "good"

    reader = TopicReader(
        module_settings.kafka_bootstrap_servers, module_settings.topic_prefix, [DEAD_LETTER]
    )
    letters: list[DeadLettered] = []
    async with reader:

        async def all_dead_lettered() -> bool:
            letters.extend(r for r in await reader.records(0.3) if isinstance(r, DeadLettered))
            return len(letters) >= len(bad)

        await eventually(all_dead_lettered, 30, "dead letters")
    by_payload = {base64.b64decode(letter.payload_b64): letter for letter in letters}
    for payload, expected in bad.items():
        assert payload in by_payload, payload
        assert expected in by_payload[payload].reason
    assert all(letter.source_topic.endswith(("contacts", "routing")) for letter in letters)


async def test_routing_state_and_offsets_are_in_postgres(
    worker: Path, bus: Bus, offers: Collected, module_settings: Settings
) -> None:
    pool = "stored"
    await arrive(bus, pool, "c1", "vip")
    await arrive(bus, pool, "c2", "standard")
    await waiting_in_postgres(module_settings, pool, 2)
    await login(bus, pool, "a1")
    assert (await next_offer(offers, pool, 1)).contact_id == "c1"
    connection = await asyncpg.connect(module_settings.require_database_url())
    try:

        async def stored() -> bool:
            rows = await connection.fetch(
                "SELECT contact_id, status FROM routing_contacts WHERE pool_id = $1", pool
            )
            return {r["contact_id"]: r["status"] for r in rows} == {
                "c1": "offered",
                "c2": "waiting",
            }

        await eventually(stored, 20, "routing rows in PostgreSQL")
        offsets = await connection.fetchval(
            'SELECT count(*) FROM routing_offsets WHERE "offset" >= 0'
        )
        assert offsets >= 1
    finally:
        await connection.close()
