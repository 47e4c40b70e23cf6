"""The benchmark load: contacts and agents over pools, as bytes ready to publish."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from schemas import agents as ag
from schemas import contacts as ct
from schemas.base import Record
from schemas.topics import AGENT_EVENTS, CONTACTS, TopicSpec

SKILLS = ("billing", "orders", "technical")
CLASSES = ("vip", "standard", "standard", "standard", "standard")


@dataclass(frozen=True)
class Message:
    topic: TopicSpec
    key: bytes
    value: bytes


def pool_of(n: int, pools: int) -> str:
    return f"pool-{n % pools:02d}"


def agent_events(
    agents: int, pools: int, capacity: dict[str, int] | None = None
) -> Iterator[Message]:
    """A login then ready for each agent; two skills each."""
    rng = random.Random(7)
    for n in range(agents):
        pool, agent = pool_of(n, pools), f"agent-{n:05d}"
        skills = {s: rng.randint(3, 10) for s in rng.sample(SKILLS, 2)}
        login = ag.AgentLoggedIn(pool_id=pool, agent_id=agent, skills=skills, capacity=capacity)
        yield _message(AGENT_EVENTS, agent, login)
        yield _message(AGENT_EVENTS, agent, ag.AgentReady(pool_id=pool, agent_id=agent))


def contact(n: int, pools: int, rng: random.Random, channel: ct.Channel | None = None) -> Message:
    contact_id = f"contact-{n:07d}"
    record = ct.ContactArrived(
        pool_id=pool_of(n, pools),
        contact_id=contact_id,
        channel=channel or rng.choice(list(ct.Channel)),
        customer_class=rng.choice(CLASSES),
        skills={rng.choice(SKILLS): 1},
        occurred_at=datetime.now(UTC),
    )
    return _message(CONTACTS, contact_id, record)


def contacts(count: int, pools: int, start: int = 0) -> Iterator[Message]:
    rng = random.Random(11 + start)
    for n in range(start, start + count):
        yield contact(n, pools, rng)


def _message(topic: TopicSpec, key: str, record: Record) -> Message:
    return Message(topic, key.encode(), record.to_bytes())


async def publish(bootstrap_servers: str, prefix: str, messages: Iterable[Message]) -> int:
    """Publish everything, waiting for the broker; return how many."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", linger_ms=5)
    await producer.start()
    try:
        pending = []
        count = 0
        for m in messages:
            count += 1
            pending.append(await producer.send(m.topic.full_name(prefix), m.value, key=m.key))
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        return count
    finally:
        await producer.stop()
