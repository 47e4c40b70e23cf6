"""Routing inputs in virtual time and a routing processor over in-memory ports, for the
processor's unit tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from schemas import agents as ag
from schemas import contacts as ct
from schemas.base import Record
from schemas.codec import decode
from schemas.routing import OfferMade
from schemas.topics import OFFERS
from streams.routing import domain
from streams.routing.ports import InputRecord, Outbound, RoutingStore
from streams.routing.processor import RoutingProcessor
from tests.support.routing_fakes import MemoryPublisher

TOPIC = "routing"
POOL = "p1"
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def processor(
    store: RoutingStore,
    publisher: MemoryPublisher | None = None,
    clock: Callable[[], float] = T0.timestamp,
) -> tuple[RoutingProcessor, MemoryPublisher]:
    """A processor whose batches are processed at ``clock()`` (by default the start of the
    test's virtual time, so that processing never lags behind the inputs)."""
    publisher = publisher or MemoryPublisher()
    config = domain.PoolConfig(offer_timeout_seconds=20.0)
    proc = RoutingProcessor(store, publisher, topic=TOPIC, config=config, clock=clock)
    return proc, publisher


def rec(offset: int, record: Record, key: str = POOL, partition: int = 0) -> InputRecord:
    return InputRecord(partition, offset, key.encode(), record.to_bytes())


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def login(agent: str, when: float) -> list[Record]:
    return [
        ag.AgentLoggedIn(
            pool_id=POOL, agent_id=agent, occurred_at=at(when), event_id=f"in-{agent}"
        ),
        ag.AgentReady(pool_id=POOL, agent_id=agent, occurred_at=at(when), event_id=f"rd-{agent}"),
    ]


def arrival(contact: str, when: float, klass: str = "standard") -> Record:
    return ct.ContactArrived(
        pool_id=POOL,
        contact_id=contact,
        channel=ct.Channel.VOICE,
        customer_class=klass,
        occurred_at=at(when),
        event_id=f"arr-{contact}",
    )


def batch(records: list[Record], first_offset: int = 0) -> list[InputRecord]:
    return [rec(first_offset + n, r) for n, r in enumerate(records)]


def offers(sent: list[Outbound]) -> list[OfferMade]:
    return [r for o in sent if o.topic is OFFERS and isinstance(r := decode(o.value), OfferMade)]
