"""A worker stops on SIGTERM within its shutdown timeout, with the broker up or down."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import agents as ag
from schemas import contacts as ct
from schemas.routing import OfferMade
from schemas.topics import AGENT_EVENTS, CONTACTS, OFFERS, TopicSpec
from services.bus import TopicReader, open_bus
from services.runtime.broker import LocalBroker
from streams.platform.settings import Settings
from streams.platform.worker import SHUTDOWN_OVERDUE_EXIT_CODE
from tests.support.environment import isolated_settings
from tests.support.workers import eventually, running_worker

pytestmark = pytest.mark.integration

SHUTDOWN_TIMEOUT = 8.0
EXIT_BOUND = 15.0


@pytest.fixture
def own_broker() -> Iterator[LocalBroker]:
    """A broker of this test's own, so that stopping it leaves the other tests alone."""
    with LocalBroker() as running:
        yield running


async def routes_a_contact(settings: Settings, pool: str) -> None:
    """Wait until the worker consumes and routes: one agent, one contact, one offer."""
    reader = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix, [OFFERS])
    async with open_bus(settings.kafka_bootstrap_servers, settings.topic_prefix) as bus, reader:
        await bus.publish(AGENT_EVENTS, "a1", ag.AgentLoggedIn(pool_id=pool, agent_id="a1"))
        await bus.publish(AGENT_EVENTS, "a1", ag.AgentReady(pool_id=pool, agent_id="a1"))
        await bus.publish(
            CONTACTS,
            "c1",
            ct.ContactArrived(pool_id=pool, contact_id="c1", channel=ct.Channel.VOICE),
        )

        async def offered() -> bool:
            records = await reader.records(0.3)
            return any(isinstance(r, OfferMade) and r.contact_id == "c1" for r in records)

        await eventually(offered, 60, "an offer from the worker")


async def exits_after_sigterm(process: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    deadline = started + EXIT_BOUND
    while process.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def test_sigterm_stops_the_worker_while_the_broker_is_down(
    own_broker: LocalBroker, postgres_server_url: str, tmp_path: Path
) -> None:
    settings = await isolated_settings(
        own_broker, postgres_server_url, worker_shutdown_timeout=SHUTDOWN_TIMEOUT
    )
    log = tmp_path / "worker.log"
    with running_worker(settings, log) as process:
        await routes_a_contact(settings, "down")
        own_broker.stop()
        await asyncio.sleep(3)  # the worker notices: its connections fail, its fetches retry
        assert process.poll() is None, log.read_text()
        took = await exits_after_sigterm(process)
        assert process.poll() is not None, (
            f"worker still running {took:.0f} s after SIGTERM\n{log.read_text()[-5000:]}"
        )
        assert took <= SHUTDOWN_TIMEOUT + 4, took
        assert process.returncode == SHUTDOWN_OVERDUE_EXIT_CODE
        assert "did not stop within" in log.read_text()


async def test_sigterm_with_the_broker_up_is_a_clean_stop(
    broker: LocalBroker, postgres_server_url: str, tmp_path: Path
) -> None:
    settings = await isolated_settings(
        broker, postgres_server_url, worker_shutdown_timeout=SHUTDOWN_TIMEOUT
    )
    log = tmp_path / "worker.log"
    with running_worker(settings, log) as process:
        await routes_a_contact(settings, "up")
        took = await exits_after_sigterm(process)
        assert process.returncode == 0, log.read_text()[-5000:]
        assert took <= SHUTDOWN_TIMEOUT, took
    assert await committed(settings, CONTACTS) == 1
    assert await committed(settings, AGENT_EVENTS) == 2


async def committed(settings: Settings, topic: TopicSpec) -> int:
    """The worker group's committed offsets over the partitions of ``topic``, summed."""
    name = topic.full_name(settings.topic_prefix)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.app_id,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        offsets = [
            await consumer.committed(TopicPartition(name, p)) for p in range(topic.partitions)
        ]
    finally:
        await consumer.stop()
    return sum(o or 0 for o in offsets)
