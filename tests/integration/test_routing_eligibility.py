"""Relaxation and cross-channel concurrency through the routing processor over the real
PostgreSQL, the state reloaded from it between batches (as after a restart): a waiting
contact reaches the wider ring at its step's time and not before; a call is offered to an
agent holding a chat only when the setting allows it."""

from __future__ import annotations

import asyncpg
import pytest

from schemas import agents as ag
from schemas import contacts as ct
from schemas.base import Record
from schemas.codec import decode
from schemas.routing import AdvanceRoutingClock, ContactRequirementRelaxed, OfferMade
from streams.routing import domain
from streams.routing.domain.relaxation import RelaxStep
from streams.routing.processor import RoutingProcessor
from streams.routing.store_pg import PostgresRoutingStore
from tests.support.routing_fakes import MemoryPublisher
from tests.support.routing_inputs import POOL, T0, TOPIC, at, batch

pytestmark = pytest.mark.integration


def _fresh(
    pool: asyncpg.Pool, config: domain.PoolConfig
) -> tuple[RoutingProcessor, MemoryPublisher]:
    """A processor that knows nothing yet: it loads the pools from PostgreSQL."""
    publisher = MemoryPublisher()
    store = PostgresRoutingStore(pool)
    return RoutingProcessor(
        store, publisher, topic=TOPIC, config=config, clock=T0.timestamp
    ), publisher


def _outputs(publisher: MemoryPublisher) -> list[Record]:
    return [decode(o.value) for o in publisher.sent if o.topic.name == "interactions"]


def _agent(agent_id: str, skills: dict[str, int], when: float) -> list[Record]:
    return [
        ag.AgentLoggedIn(
            pool_id=POOL, agent_id=agent_id, skills=skills, occurred_at=at(when),
            event_id=f"in-{agent_id}",
        ),
        ag.AgentReady(
            pool_id=POOL, agent_id=agent_id, occurred_at=at(when), event_id=f"rd-{agent_id}"
        ),
    ]  # fmt: skip


def _contact(contact_id: str, channel: ct.Channel, when: float, **skills: int) -> Record:
    return ct.ContactArrived(
        pool_id=POOL, contact_id=contact_id, channel=channel, skills=skills,
        occurred_at=at(when), event_id=f"arr-{contact_id}",
    )  # fmt: skip


def _tick(when: float) -> Record:
    return AdvanceRoutingClock(partition=0, occurred_at=at(when), event_id=f"tick-{when}")


async def test_relaxation_widens_at_its_time_and_not_before_across_reloads(
    database_url: str,
) -> None:
    config = domain.PoolConfig(relaxation={"*": (RelaxStep(30, lower_by=3),)})
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        first, _ = _fresh(pool, config)
        inputs = [
            *_agent("junior", {"billing": 2}, 0),
            _contact("c1", ct.Channel.CHAT, 1, billing=5),
        ]
        await first.process(0, batch(inputs))
        early, early_out = _fresh(pool, config)
        await early.process(0, batch([_tick(30.9)], first_offset=3))  # 29.9 s waited
        late, late_out = _fresh(pool, config)
        await late.process(0, batch([_tick(31.0)], first_offset=4))  # 30 s waited
    finally:
        await pool.close()
    assert not any(
        isinstance(r, (OfferMade, ContactRequirementRelaxed)) for r in _outputs(early_out)
    )
    relaxed = [r for r in _outputs(late_out) if isinstance(r, ContactRequirementRelaxed)]
    offers = [r for r in _outputs(late_out) if isinstance(r, OfferMade)]
    assert [(r.contact_id, r.step, r.requirement_after) for r in relaxed] == [
        ("c1", 1, "chat|billing>=2")
    ]
    assert [(o.contact_id, o.agent_id) for o in offers] == [("c1", "junior")]


@pytest.mark.parametrize(("hold", "offered"), [(0, False), (1, True)])
async def test_a_call_reaches_an_agent_holding_a_chat_only_when_allowed(
    database_url: str, hold: int, offered: bool
) -> None:
    config = domain.PoolConfig(cross_channel_hold={domain.Channel.VOICE: hold})
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        routing, out = _fresh(pool, config)
        await routing.process(
            0, batch([*_agent("a1", {}, 0), _contact("chat-1", ct.Channel.CHAT, 1)])
        )
        [chat_offer] = [r for r in _outputs(out) if isinstance(r, OfferMade)]
        accept = ag.OfferAccepted(
            pool_id=POOL, agent_id="a1", offer_id=chat_offer.offer_id, occurred_at=at(2),
            event_id="acc-chat-1",
        )  # fmt: skip
        reloaded, out = _fresh(pool, config)
        await reloaded.process(0, batch([accept, _contact("call-1", ct.Channel.VOICE, 3)], 3))
    finally:
        await pool.close()
    calls = [r for r in _outputs(out) if isinstance(r, OfferMade) and r.contact_id == "call-1"]
    assert bool(calls) is offered
