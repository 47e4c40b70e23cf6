"""Load: simulated customers arriving at a steady rate (some giving up), and simulated agents
that answer the offers routing sends them, as the agent desk would.

Everything the harness publishes goes through ``Inputs``, which counts the inputs and, in the
duplicate scenario, publishes each one twice with the same bytes: at once (a gateway retry),
or seconds later, again on its own topic or straight onto the routing topic keyed by pool (an
upstream re-forward, which follows its original: it is sent once routing applied that).

Customers and agents share the inputs' bookkeeping (what was published, what routing applied),
so both sides of the load live in this module.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from schemas import agents as ag
from schemas import contacts as ct
from schemas import control
from schemas.base import PoolRecord, Record
from schemas.routing import (
    AgentStateChanged,
    ContactAssigned,
    ContactReleased,
    OfferDeclined,
    OfferExpired,
    OfferMade,
    OfferRescinded,
)
from schemas.topics import AGENT_EVENTS, CONTACTS, ROUTING, TopicSpec
from services.bus import Bus

CHANNELS = (ct.Channel.VOICE, ct.Channel.CHAT)


@dataclass(frozen=True)
class LoadProfile:
    """The shape of the load; times in seconds."""

    pools: int = 4
    agents_per_pool: int = 18
    # per agent, in turn: blended (a call occupies the agent entirely), calls only, chats only;
    # blended agents alone would rarely be free of chats for a call
    capacities: tuple[Mapping[str, int], ...] = (
        {"voice": 1, "chat": 3},
        {"voice": 1, "chat": 0},
        {"voice": 0, "chat": 3},
    )
    rate: float = 30.0  # arrivals per second, over all pools
    voice_share: float = 0.4
    vip_share: float = 0.2
    impatient_share: float = 0.2  # customers who give up after ``patience`` if not answered
    patience: tuple[float, float] = (2.0, 25.0)
    accept_delay: tuple[float, float] = (0.05, 0.5)
    reject_share: float = 0.05
    handle: tuple[float, float] = (0.3, 2.5)
    ready_again_after: float = 0.5  # an agent set not ready for missed offers comes back
    duplicates: bool = False
    late_share: float = 0.4  # of the copies: sent seconds later rather than at once
    late_delay: tuple[float, float] = (2.0, 10.0)

    def pool_ids(self) -> list[str]:
        return [f"pool-{n}" for n in range(self.pools)]

    def agent_ids(self) -> dict[str, str]:
        """Agent id → pool id."""
        return {
            f"{pool}-agent-{n:02d}": pool
            for pool in self.pool_ids()
            for n in range(self.agents_per_pool)
        }

    def capacity(self) -> dict[str, dict[str, int]]:
        """Agent id → channel → concurrent contacts."""
        return {
            agent: dict(self.capacities[n % len(self.capacities)])
            for n, agent in enumerate(self.agent_ids())
        }


class Tasks:
    """Background tasks of one kind, counted while they run."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[None]] = set()
        self.errors: list[BaseException] = []

    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._running.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            self.errors.append(error)

    def raise_errors(self) -> None:
        """Fail the run with the first error a task met (a publish that did not go out)."""
        if self.errors:
            raise self.errors[0]

    def __len__(self) -> int:
        return len(self._running)

    async def cancel(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)


class AppliedInputs:
    """Waits until routing has applied inputs (it remembers their ids), asking PostgreSQL
    for every waiting id at once, twice a second."""

    def __init__(self, fetch: Callable[[list[str]], Awaitable[set[str]]]) -> None:
        self._fetch = fetch
        self._waiting: dict[str, asyncio.Event] = {}
        self._poller: asyncio.Task[None] | None = None

    async def wait(self, event_id: str, timeout: float) -> bool:
        applied = self._waiting.setdefault(event_id, asyncio.Event())
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll())
        try:
            await asyncio.wait_for(applied.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _poll(self) -> None:
        while self._waiting:
            for event_id in await self._fetch(list(self._waiting)):
                self._waiting.pop(event_id).set()
            await asyncio.sleep(0.5)

    def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()


class Inputs:
    """Publishes the harness's inputs and counts them (in duplicate mode, twice each)."""

    REFORWARD_WAIT = 120.0

    def __init__(
        self, bus: Bus, rng: random.Random, profile: LoadProfile, applied: AppliedInputs
    ) -> None:
        self._bus = bus
        self._applied = applied
        self._rng = rng
        self._profile = profile
        self.ids: set[str] = set()  # distinct inputs (routing applies each once)
        self.copies = 0  # extra copies sent (duplicate scenario)
        self.late_copies = 0  # of which seconds later
        self.reforwarded = 0  # of which straight onto the routing topic
        self.late = Tasks()
        self.poison: list[bytes] = []  # payloads sent to be dead-lettered

    @property
    def sent(self) -> int:
        return len(self.ids)

    async def send(self, topic: TopicSpec, key: str, record: PoolRecord) -> None:
        value = record.to_bytes()
        await self._bus.publish_raw(topic, key.encode(), value)
        self.ids.add(record.event_id)
        if not self._profile.duplicates:
            return
        if self._rng.random() < self._profile.late_share:
            delay = self._rng.uniform(*self._profile.late_delay)
            reforward = self._rng.random() < 0.5
            if reforward:
                topic, key = ROUTING, record.pool_id
                self.reforwarded += 1
            self.late_copies += 1
            self.late.spawn(self._copy_later(delay, topic, key, value, reforward, record.event_id))
        else:
            await self._bus.publish_raw(topic, key.encode(), value)
            self.copies += 1

    async def _copy_later(
        self,
        delay: float,
        topic: TopicSpec,
        key: str,
        value: bytes,
        reforward: bool,
        event_id: str,
    ) -> None:
        await asyncio.sleep(delay)
        if reforward:
            await self._applied.wait(event_id, self.REFORWARD_WAIT)
        await self._bus.publish_raw(topic, key.encode(), value)
        self.copies += 1

    async def send_poison(self, n: int) -> None:
        """A record that is not JSON, one of an unknown type: both must be dead-lettered."""
        for payload in (
            f"not json {n}".encode(),
            json.dumps({"type": "contact_teleported", "event_id": f"poison-{n}"}).encode(),
        ):
            await self._bus.publish_raw(CONTACTS, f"poison-{n}".encode(), payload)
            self.poison.append(payload)


class PolicyChanges:
    """An admin changing the pools' class weights and aging while the load runs: routing
    inputs on the routing topic (as the admin API sends them), stored with each pool's state,
    so kills, rebalances and the replay check meet them too. They are not inputs the log
    records (it does not read the routing topic), so they are counted apart."""

    POLICIES = (
        ({"vip": 100.0, "standard": 0.0}, 1.0),
        ({"vip": 0.0, "standard": 50.0}, 0.0),
        ({"vip": 30.0, "standard": 0.0}, 2.0),
    )

    def __init__(self, bus: Bus, rng: random.Random, profile: LoadProfile, run_id: str) -> None:
        self._bus = bus
        self._rng = rng
        self._profile = profile
        self._run_id = run_id
        self.sent = 0

    async def run(self, interval: float = 2.0) -> None:
        while True:
            await asyncio.sleep(interval)
            pool = self._rng.choice(self._profile.pool_ids())
            weights, aging = self._rng.choice(self.POLICIES)
            record = control.PoolPolicyChanged(
                event_id=f"{self._run_id}-policy-{self.sent}",
                pool_id=pool,
                class_weights=weights,
                aging_per_second=aging,
                actor_id="harness",
            )
            await self._bus.publish_raw(ROUTING, pool.encode(), record.to_bytes())
            self.sent += 1


class Customers:
    """Contacts arriving at a steady rate over the pools, channels and classes."""

    def __init__(
        self, inputs: Inputs, rng: random.Random, profile: LoadProfile, run_id: str
    ) -> None:
        self._inputs = inputs
        self._rng = rng
        self._profile = profile
        self._run_id = run_id
        self.arrived: dict[str, str] = {}  # contact id → channel
        self.answered: set[str] = set()  # told by the agents: the contact was assigned
        self.abandoned = 0
        self.waiting = Tasks()
        self._patience: dict[str, asyncio.Task[None]] = {}

    async def run(self, done: Callable[[], bool]) -> None:
        """Arrivals every 1/rate seconds until ``done()``."""
        loop = asyncio.get_running_loop()
        interval = 1.0 / self._profile.rate
        next_at = loop.time()
        pools = self._profile.pool_ids()
        while not done():
            await self._arrive(self._rng.choice(pools))
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    async def _arrive(self, pool: str) -> None:
        rng, profile = self._rng, self._profile
        contact_id = f"{self._run_id}-c{len(self.arrived):06d}"
        channel = ct.Channel.VOICE if rng.random() < profile.voice_share else ct.Channel.CHAT
        klass = "vip" if rng.random() < profile.vip_share else "standard"
        self.arrived[contact_id] = channel.value
        await self._inputs.send(
            CONTACTS,
            contact_id,
            ct.ContactArrived(
                pool_id=pool,
                contact_id=contact_id,
                channel=channel,
                customer_class=klass,
                customer=ct.CustomerRef(customer_id=f"cust-{rng.randrange(5000)}"),
            ),
        )
        if rng.random() < profile.impatient_share:
            self._patience[contact_id] = self.waiting.spawn(
                self._give_up(pool, contact_id, rng.uniform(*profile.patience))
            )

    def impatient(self) -> int:
        """Customers who may still give up: not answered, patience not yet run out."""
        return sum(
            1
            for contact_id, task in self._patience.items()
            if not task.done() and contact_id not in self.answered
        )

    async def _give_up(self, pool: str, contact_id: str, patience: float) -> None:
        await asyncio.sleep(patience)
        if contact_id in self.answered:
            return
        self.abandoned += 1
        await self._inputs.send(
            CONTACTS, contact_id, ct.ContactAbandoned(pool_id=pool, contact_id=contact_id)
        )


@dataclass
class AgentCounts:
    offers: int = 0
    accepted: int = 0
    rejected: int = 0
    withdrawn: int = 0  # offers expired or rescinded before the agent answered
    completed: int = 0
    readied: int = 0


class Agents:
    """The pools' agents: they answer what the offers topic tells them, once per offer,
    whatever copies of a record arrive, and let go of offers withdrawn meanwhile."""

    def __init__(
        self, inputs: Inputs, rng: random.Random, profile: LoadProfile, customers: Customers
    ) -> None:
        self._inputs = inputs
        self._rng = rng
        self._profile = profile
        self._customers = customers
        self.pools = profile.agent_ids()
        self._capacity = profile.capacity()
        self.counts = AgentCounts()
        self.busy = Tasks()
        self._seen: set[str] = set()  # event ids of records already acted on
        self._answered: set[str] = set()  # offer ids
        self._closed: set[str] = set()  # offer ids expired, rescinded or declined
        self._handling: set[str] = set()  # contact ids assigned to one of us
        self._readying: set[str] = set()  # agent ids about to be ready again

    def capacity(self) -> dict[str, dict[str, int]]:
        return {agent: dict(limits) for agent, limits in self._capacity.items()}

    async def log_in(self) -> None:
        for agent_id, pool in self.pools.items():
            await self._inputs.send(
                AGENT_EVENTS,
                agent_id,
                ag.AgentLoggedIn(
                    pool_id=pool, agent_id=agent_id, capacity=self._capacity[agent_id]
                ),
            )
            await self._inputs.send(
                AGENT_EVENTS, agent_id, ag.AgentReady(pool_id=pool, agent_id=agent_id)
            )

    def handle(self, record: Record) -> None:
        """One record from the offers topic."""
        if record.event_id in self._seen:
            return
        self._seen.add(record.event_id)
        match record:
            case OfferMade():
                if record.offer_id not in self._answered:
                    self._answered.add(record.offer_id)
                    self.counts.offers += 1
                    self.busy.spawn(self._answer(record))
            case OfferExpired() | OfferRescinded() | OfferDeclined():
                self._closed.add(record.offer_id)
            case ContactAssigned():
                if record.contact_id not in self._handling:
                    self._handling.add(record.contact_id)
                    self._customers.answered.add(record.contact_id)
                    self.busy.spawn(self._talk(record))
            case ContactReleased():
                self._handling.discard(record.contact_id)
            case AgentStateChanged(state="not_ready", reason="missed_offers"):
                if record.agent_id not in self._readying:
                    self._readying.add(record.agent_id)
                    self.busy.spawn(self._ready_again(record))

    async def _answer(self, offer: OfferMade) -> None:
        await asyncio.sleep(self._rng.uniform(*self._profile.accept_delay))
        if offer.offer_id in self._closed:
            self.counts.withdrawn += 1
            return
        if self._rng.random() < self._profile.reject_share:
            self.counts.rejected += 1
            await self._inputs.send(
                AGENT_EVENTS,
                offer.agent_id,
                ag.OfferRejected(
                    pool_id=offer.pool_id,
                    agent_id=offer.agent_id,
                    offer_id=offer.offer_id,
                    reason="busy",
                ),
            )
            return
        self.counts.accepted += 1
        await self._inputs.send(
            AGENT_EVENTS,
            offer.agent_id,
            ag.OfferAccepted(
                pool_id=offer.pool_id, agent_id=offer.agent_id, offer_id=offer.offer_id
            ),
        )

    async def _talk(self, assigned: ContactAssigned) -> None:
        await asyncio.sleep(self._rng.uniform(*self._profile.handle))
        self.counts.completed += 1
        await self._inputs.send(
            AGENT_EVENTS,
            assigned.agent_id,
            ag.ContactCompleted(
                pool_id=assigned.pool_id,
                agent_id=assigned.agent_id,
                contact_id=assigned.contact_id,
                disposition="resolved",
            ),
        )

    async def _ready_again(self, changed: AgentStateChanged) -> None:
        await asyncio.sleep(self._profile.ready_again_after)
        self._readying.discard(changed.agent_id)
        self.counts.readied += 1
        await self._inputs.send(
            AGENT_EVENTS,
            changed.agent_id,
            ag.AgentReady(pool_id=changed.pool_id, agent_id=changed.agent_id),
        )
