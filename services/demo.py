"""The main job on the local runtime: start everything, route a sample day's morning, report.

Agents log in, contacts of every channel and class arrive, simulated agents accept their
offers, talk, and complete; every offer is printed with who got whom and why, and a service
level report closes the run.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas import agents as ag
from schemas import contacts as ct
from schemas.codec import decode
from schemas.routing import ContactAssigned, ContactQueued, OfferExpired, OfferMade
from schemas.topics import AGENT_EVENTS, CONTACTS, INTERACTIONS
from services.bus import Bus, TopicReader, open_bus
from services.runtime.broker import free_port
from services.runtime.local import local_runtime
from services.runtime.processes import start_command, stop
from streams.platform.settings import Settings

POOL = "demo"
AGENTS: dict[str, dict[str, int]] = {
    "alice": {"billing": 9, "en": 10},
    "bob": {"billing": 6, "tech": 7, "en": 10},
    "carol": {"tech": 9, "en": 8, "fr": 10},
}
CHAT_ONLY = {"carol": {"voice": 0, "chat": 3, "email": 5, "sms": 5}}


@dataclass(frozen=True)
class SampleContact:
    contact_id: str
    channel: ct.Channel
    customer_class: str
    skills: dict[str, int]
    note: str = ""
    waited_before: float = 0.0


SAMPLE: tuple[SampleContact, ...] = (
    *(
        SampleContact(f"call-std-{n}", ct.Channel.VOICE, "standard", {"billing": 1})
        for n in range(1, 6)
    ),
    SampleContact(
        "call-vip-1",
        ct.Channel.VOICE,
        "vip",
        {"billing": 1},
        "VIP arriving after five waiting standard callers",
    ),
    SampleContact(
        "call-std-aged",
        ct.Channel.VOICE,
        "standard",
        {"billing": 1},
        "standard caller who already waited past the aging horizon",
        150.0,
    ),
    *(SampleContact(f"chat-{n}", ct.Channel.CHAT, "standard", {"tech": 5}) for n in range(1, 5)),
    SampleContact("chat-vip", ct.Channel.CHAT, "vip", {"tech": 5, "fr": 5}, "French-speaking VIP"),
    SampleContact("email-1", ct.Channel.EMAIL, "standard", {"billing": 1}),
    SampleContact("sms-1", ct.Channel.SMS, "standard", {"tech": 1}),
)


@dataclass
class Report:
    started: float = field(default_factory=time.monotonic)
    waits: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    offers: int = 0
    expired: int = 0
    completed: set[str] = field(default_factory=set)

    def elapsed(self) -> str:
        return f"{time.monotonic() - self.started:6.1f}s"


def run_demo(settings: Settings, log_dir: Path = Path(".contactcenter")) -> int:
    log_dir.mkdir(exist_ok=True)
    settings = settings.with_values(
        class_weights={"vip": 100.0, "standard": 0.0},
        aging_per_second=1.0,
        offer_timeout_seconds=10.0,
    )
    print("starting the local runtime (Kafka-protocol broker, PostgreSQL) ...", flush=True)
    with local_runtime(settings) as ready:
        print(f"  broker {ready.kafka_bootstrap_servers}; PostgreSQL ready; topics and migrations")
        metrics_port = free_port()
        worker = start_command(
            "worker", ready, log_dir / "demo-worker.log", metrics_port=metrics_port
        )
        print(f"  streams worker pid {worker.pid}, metrics on :{metrics_port}/metrics", flush=True)
        try:
            report = asyncio.run(_drive(ready))
        finally:
            stop(worker)
    _print_report(report)
    return 0 if len(report.completed) == len(SAMPLE) else 1


async def _drive(settings: Settings) -> Report:
    report = Report()
    classes = {c.contact_id: c.customer_class for c in SAMPLE}
    rng = random.Random(7)
    async with open_bus(settings.kafka_bootstrap_servers, settings.topic_prefix) as bus:
        reader = TopicReader(
            settings.kafka_bootstrap_servers, settings.topic_prefix, [INTERACTIONS]
        )
        async with reader:
            for agent, skills in AGENTS.items():
                await bus.publish(
                    AGENT_EVENTS,
                    agent,
                    ag.AgentLoggedIn(
                        pool_id=POOL, agent_id=agent, skills=skills, capacity=CHAT_ONLY.get(agent)
                    ),
                )
            now = datetime.now(UTC)
            for contact in SAMPLE:
                arrived = now - timedelta(seconds=contact.waited_before)
                await bus.publish(
                    CONTACTS,
                    contact.contact_id,
                    ct.ContactArrived(
                        pool_id=POOL,
                        contact_id=contact.contact_id,
                        channel=contact.channel,
                        customer_class=contact.customer_class,
                        skills=contact.skills,
                        arrived_at=arrived if contact.waited_before else None,
                    ),
                )
                note = f"  ({contact.note})" if contact.note else ""
                print(
                    f"[{report.elapsed()}] arrives  {contact.contact_id:<14}"
                    f" {contact.customer_class:<8} {contact.channel.value}{note}"
                )
            # contacts travel on several partitions: let them all queue, so that what follows
            # shows the priority order rather than the order of arrival at the worker
            queued: set[str] = set()
            while len(queued) < len(SAMPLE) and time.monotonic() - report.started < 90:
                for _topic, _key, value in await reader.read(0.3):
                    record = decode(value)
                    if isinstance(record, ContactQueued) and record.pool_id == POOL:
                        queued.add(record.contact_id)
            print(f"[{report.elapsed()}] queued   {len(queued)} contacts")
            for agent, skills in AGENTS.items():
                await bus.publish(AGENT_EVENTS, agent, ag.AgentReady(pool_id=POOL, agent_id=agent))
                print(f"[{report.elapsed()}] ready    {agent} skills {skills}")
            talking: set[asyncio.Task[None]] = set()
            deadline = time.monotonic() + 120
            while len(report.completed) < len(SAMPLE) and time.monotonic() < deadline:
                for _topic, _key, value in await reader.read(0.3):
                    record = decode(value)
                    if isinstance(record, OfferMade) and record.pool_id == POOL:
                        report.offers += 1
                        print(
                            f"[{report.elapsed()}] offer    {record.contact_id:<14}"
                            f" → {record.agent_id:<6} {record.explanation.get('reason', '')}"
                        )
                        task = asyncio.create_task(_handle(bus, record, rng, report))
                        talking.add(task)
                        task.add_done_callback(talking.discard)
                    elif isinstance(record, ContactAssigned) and record.pool_id == POOL:
                        report.waits[classes.get(record.contact_id, "?")].append(
                            record.waited_seconds
                        )
                    elif isinstance(record, OfferExpired) and record.pool_id == POOL:
                        report.expired += 1
            for task in list(talking):
                task.cancel()
    return report


async def _handle(bus: Bus, offer: OfferMade, rng: random.Random, report: Report) -> None:
    """A simulated agent: accepts after a moment, talks, completes with a disposition."""
    await asyncio.sleep(rng.uniform(0.2, 0.6))
    await bus.publish(
        AGENT_EVENTS,
        offer.agent_id,
        ag.OfferAccepted(pool_id=POOL, agent_id=offer.agent_id, offer_id=offer.offer_id),
    )
    await asyncio.sleep(rng.uniform(0.8, 2.0))
    await bus.publish(
        CONTACTS, offer.contact_id, ct.ContactEnded(pool_id=POOL, contact_id=offer.contact_id)
    )
    await bus.publish(
        AGENT_EVENTS,
        offer.agent_id,
        ag.ContactCompleted(
            pool_id=POOL,
            agent_id=offer.agent_id,
            contact_id=offer.contact_id,
            disposition="resolved",
        ),
    )
    report.completed.add(offer.contact_id)
    print(f"[{report.elapsed()}] done     {offer.contact_id:<14} by {offer.agent_id}")


def _print_report(report: Report) -> None:
    print()
    print("service report")
    print(
        f"  contacts completed {len(report.completed)}/{len(SAMPLE)},"
        f" offers {report.offers}, expired {report.expired}"
    )
    for klass, waits in sorted(report.waits.items()):
        print(
            f"  {klass:<9} answered {len(waits):3d}  average wait {sum(waits) / len(waits):6.1f}s"
            f"  longest {max(waits):6.1f}s"
        )
