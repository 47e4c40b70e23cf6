"""``contactcenter replay``: a short day routed by a real worker on the real broker and
PostgreSQL, reproduced decision for decision from what the system recorded."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest

from schemas import agents as ag
from schemas import contacts as ct
from schemas.routing import ContactReleased, ContactRemoved, OfferExpired
from schemas.topics import AGENT_EVENTS, CONTACTS, INTERACTIONS, OFFERS
from services.bus import TopicReader, open_bus
from services.replay import replay
from streams.platform.settings import Settings
from tests.support.agents_at_work import answer_offers
from tests.support.channels import Records
from tests.support.workers import eventually, running_worker

pytestmark = pytest.mark.integration

POOL = "replayed"
CONTACTS_HANDLED = 4


def args(**values: object) -> argparse.Namespace:
    return argparse.Namespace(**{"pool": POOL, "start": None, "end": None, **values})


async def test_a_recorded_day_replays_to_identical_decisions(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overrides = {"offer_timeout_seconds": 2.0, "max_missed_offers": 1}
    day = settings.model_copy(update=overrides)
    bus_args = (settings.kafka_bootstrap_servers, settings.topic_prefix)
    with running_worker(settings, tmp_path / "worker.log", **overrides):
        async with (
            open_bus(*bus_args) as bus,
            TopicReader(*bus_args, [OFFERS]) as offers,
            TopicReader(*bus_args, [INTERACTIONS]) as interactions,
        ):
            for agent in ("a1", "ghost"):  # the ghost never answers: its offer expires
                await bus.publish(
                    AGENT_EVENTS, agent, ag.AgentLoggedIn(pool_id=POOL, agent_id=agent)
                )
                await bus.publish(AGENT_EVENTS, agent, ag.AgentReady(pool_id=POOL, agent_id=agent))
            arrivals = [
                ("v1", ct.Channel.VOICE, "vip", {}),
                ("s1", ct.Channel.VOICE, "standard", {}),
                ("c1", ct.Channel.CHAT, "standard", {}),
                ("s2", ct.Channel.VOICE, "standard", {}),
                ("fr", ct.Channel.VOICE, "standard", {"french": 1}),  # nobody speaks it
            ]
            for contact, channel, klass, skills in arrivals:
                await bus.publish(
                    CONTACTS,
                    contact,
                    ct.ContactArrived(
                        pool_id=POOL,
                        contact_id=contact,
                        channel=channel,
                        customer_class=klass,
                        skills=skills,
                    ),
                )
            await answer_offers(
                bus, offers, POOL, CONTACTS_HANDLED, handle_seconds=0.3, agents=frozenset({"a1"})
            )
            await bus.publish(CONTACTS, "fr", ct.ContactAbandoned(pool_id=POOL, contact_id="fr"))

            # the day is over when every decision is on the topic and in the interaction log
            records = Records(interactions)
            await records.wait_for(ContactReleased, CONTACTS_HANDLED, timeout=60, pool_id=POOL)
            await records.wait_for(ContactRemoved, contact_id="fr")
            assert records.of(OfferExpired, agent_id="ghost")
            db = await asyncpg.connect(settings.require_database_url())
            try:

                async def logged() -> bool:
                    await records.poll()
                    count = await db.fetchval(
                        "SELECT count(*) FROM interaction_events"
                        " WHERE pool_id = $1 AND topic LIKE '%interactions'",
                        POOL,
                    )
                    return bool(count == len([r for r in records.all if r.pool_id == POOL]))

                await eventually(logged, 30, "the interaction log to hold every decision")

                assert await replay(args(), day) == 0
                report = capsys.readouterr().out
                assert report.rstrip().endswith("identical"), report
                decisions = len([r for r in records.all if r.pool_id == POOL])
                assert f" {decisions} decisions replayed, {decisions} recorded" in report

                # a recorded decision that routing would not make is reported
                await db.execute(
                    "UPDATE interaction_events SET payload = jsonb_set(payload,"
                    " '{waited_seconds}', '999') WHERE event_id = (SELECT event_id"
                    " FROM interaction_events WHERE pool_id = $1"
                    " AND type = 'contact_assigned' ORDER BY occurred_at LIMIT 1)",
                    POOL,
                )
                assert await replay(args(), day) == 1
                report = capsys.readouterr().out
                assert "differs: waited_seconds: 999.0 →" in report, report
                # outside the compared period it does not count
                first: datetime = await db.fetchval(
                    "SELECT min(occurred_at) FROM interaction_events WHERE pool_id = $1", POOL
                )
                assert await replay(args(end=first), day) == 0
            finally:
                await db.close()
