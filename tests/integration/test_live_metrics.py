"""A live check: a real worker process on the local broker and PostgreSQL, traffic driven
through it, its /metrics scraped; the key series move and agree with the interaction log."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from schemas import agents as ag
from schemas import contacts as ct
from schemas.topics import AGENT_EVENTS, CONTACTS, OFFERS
from services.bus import TopicReader, open_bus
from services.runtime.broker import free_port
from streams.platform.settings import Settings
from tests.support.agents_at_work import answer_offers
from tests.support.metrics import scrape, total
from tests.support.workers import eventually, running_worker

pytestmark = pytest.mark.integration

POOL = "live"
ANSWERED = 4
ABANDONED = 2
HANDLE_SECONDS = 1.5


async def test_metrics_move_and_agree_with_the_log(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    with running_worker(settings, tmp_path / "worker.log", metrics_port=port):

        async def serving() -> bool:
            try:
                await asyncio.to_thread(scrape, port)
                return True
            except OSError:
                return False

        await eventually(serving, 30, "the worker's /metrics")
        before = await asyncio.to_thread(scrape, port)

        reader = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix, [OFFERS])
        async with (
            open_bus(settings.kafka_bootstrap_servers, settings.topic_prefix) as bus,
            reader,
        ):
            for agent in ("a1", "a2"):
                await bus.publish(
                    AGENT_EVENTS, agent, ag.AgentLoggedIn(pool_id=POOL, agent_id=agent)
                )
            contacts = [f"c{i}" for i in range(ANSWERED + ABANDONED)]
            for i, contact in enumerate(contacts):
                klass = "vip" if i % 2 else "standard"
                await bus.publish(
                    CONTACTS,
                    contact,
                    ct.ContactArrived(
                        pool_id=POOL,
                        contact_id=contact,
                        channel=ct.Channel.VOICE,
                        customer_class=klass,
                        customer=ct.CustomerRef(customer_id=f"cust-{i}"),
                    ),
                )
            for contact in contacts[ANSWERED:]:
                await bus.publish(
                    CONTACTS, contact, ct.ContactAbandoned(pool_id=POOL, contact_id=contact)
                )
            for agent in ("a1", "a2"):
                await bus.publish(AGENT_EVENTS, agent, ag.AgentReady(pool_id=POOL, agent_id=agent))

            # agents accept each offer and complete the contact, until all are answered
            await answer_offers(bus, reader, POOL, ANSWERED, handle_seconds=HANDLE_SECONDS)

        db = await asyncpg.connect(settings.require_database_url())
        try:

            async def logged() -> bool:
                row = await db.fetchrow(
                    "SELECT count(*) FILTER (WHERE status = 'completed') AS completed,"
                    " count(*) FILTER (WHERE status = 'abandoned') AS abandoned FROM contacts"
                )
                return (row["completed"], row["abandoned"]) == (ANSWERED, ABANDONED)

            await eventually(logged, 60, "the interaction log")
            answered_rows = await db.fetch(
                "SELECT customer_class, count(*) AS n FROM contacts"
                " WHERE answered_at IS NOT NULL GROUP BY customer_class"
            )
            view = await db.fetch(
                "SELECT customer_class, sum(answered) AS answered,"
                " sum(answered_within_threshold) AS within, min(threshold_seconds) AS y"
                " FROM contact_metrics_15m GROUP BY customer_class"
            )
            events = await db.fetchval("SELECT count(*) FROM interaction_events")
            decisions = await db.fetchval("SELECT count(*) FROM routing_decisions")
        finally:
            await db.close()

        async def agree() -> bool:
            s = await asyncio.to_thread(scrape, port)
            return (
                total(s, "contactcenter_contacts_answered_total") == ANSWERED
                and total(s, "contactcenter_contacts_abandoned_total") == ABANDONED
                and total(s, "contactcenter_contacts_completed_total") == ANSWERED
                and all(  # the gauge is refreshed from the views every few seconds
                    total(
                        s,
                        "contactcenter_service_level_ratio",
                        customer_class=row["customer_class"],
                        variant="answered",
                    )
                    == pytest.approx(row["within"] / row["answered"])
                    for row in view
                )
                and total(s, "contactcenter_agent_occupancy_ratio", pool=POOL) > 0
            )

        await eventually(agree, 30, "metrics in agreement with the log")
        after = await asyncio.to_thread(scrape, port)

    # answered per class: Prometheus counter == rows
    for row in answered_rows:
        got = total(
            after, "contactcenter_contacts_answered_total", customer_class=row["customer_class"]
        )
        assert got == row["n"], row["customer_class"]
    # service level per class: wait histogram bucket at Y ÷ count == the SQL view == the gauge
    for row in view:
        klass, y = row["customer_class"], f"{float(row['y'])!r}"
        within = total(
            after,
            "contactcenter_wait_seconds_bucket",
            customer_class=klass,
            outcome="answered",
            le=y,
        )
        count = total(
            after, "contactcenter_wait_seconds_count", customer_class=klass, outcome="answered"
        )
        assert (within, count) == (row["within"], row["answered"])
        gauge = total(
            after, "contactcenter_service_level_ratio", customer_class=klass, variant="answered"
        )
        assert gauge == pytest.approx(row["within"] / row["answered"])
    # offers by outcome agree with routing_decisions
    assert total(after, "contactcenter_offers_total", pool=POOL, outcome="made") == decisions
    assert total(after, "contactcenter_offers_total", pool=POOL, outcome="accepted") == ANSWERED
    # the pipeline series moved
    grew = {
        name: total(after, name) - total(before, name)
        for name in (
            "contactcenter_events_in_total",
            "contactcenter_events_out_total",
            "contactcenter_db_write_batch_size_sum",
            "contactcenter_db_write_duration_seconds_count",
        )
    }
    assert all(v > 0 for v in grew.values()), grew
    assert total(after, "contactcenter_db_write_batch_size_sum", writer="interaction_log") >= events
    assert total(after, "contactcenter_events_in_total", topic="interactions") > 0
    assert total(after, "contactcenter_db_up", writer="interaction_log") == 1
    assert any(n == "contactcenter_consumer_lag_messages" for n, _ in after)
    # routing's gauges: nobody waits now, both agents are ready; occupancy from the log
    assert total(after, "contactcenter_queue_depth", pool=POOL) == 0
    assert total(after, "contactcenter_agents", pool=POOL, state="ready") == 2
    assert 0 < total(after, "contactcenter_agent_occupancy_ratio", pool=POOL) <= 1
