"""The desk's view of the offers topic (key: agent id): one consumer per desk process, fanned
out to the agents connected here. It keeps the open offers and assignments it has seen (and
those restored from routing's state rows when an agent connects), so an agent acts on their own
offers only, and lets an accept wait for routing's assignment."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from schemas.base import Record
from schemas.routing import (
    ContactAssigned,
    ContactReleased,
    OfferDeclined,
    OfferExpired,
    OfferMade,
    OfferRescinded,
)
from schemas.topics import OFFERS
from services.bus import follow_topic
from streams.platform import metrics
from streams.platform.settings import PlatformSettings

log = logging.getLogger(__name__)

PopBuilder = Callable[[OfferMade], Awaitable[dict[str, Any]]]
AssignedHook = Callable[[ContactAssigned], None]
_CLOSING = (OfferExpired, OfferRescinded, OfferDeclined)


class OfferHub:
    def __init__(self, pop: PopBuilder) -> None:
        self._pop = pop
        self.offers: dict[str, OfferMade] = {}
        self.pops: dict[str, dict[str, Any]] = {}
        self.closed: dict[str, str] = {}  # offer id → expired / rescinded / declined / assigned
        self.assigned: dict[str, str] = {}  # contact id → agent id
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._waiters: dict[str, list[asyncio.Future[Record]]] = {}
        self._building: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.on_assigned: AssignedHook | None = None  # called for every ContactAssigned seen

    # ------------------------------------------------------------ agents' streams
    def subscribe(self, agent_id: str) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self._subscribers.setdefault(agent_id, set()).add(queue)
        metrics.DESK_CONNECTIONS.inc()
        return queue

    def unsubscribe(self, agent_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        queues = self._subscribers.get(agent_id)
        if queues is not None and queue in queues:
            queues.discard(queue)
            metrics.DESK_CONNECTIONS.dec()
            if not queues:
                del self._subscribers[agent_id]

    def open_offers(self, agent_id: str) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        return [
            self.pops[o.offer_id]
            for o in self.offers.values()
            if o.agent_id == agent_id
            and o.offer_id not in self.closed
            and o.expires_at > now
            and o.offer_id in self.pops  # a pop still being built is pushed when it is ready
        ]

    def push(self, agent_id: str, event: dict[str, Any]) -> None:
        for queue in self._subscribers.get(agent_id, ()):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(event)

    # ------------------------------------------------------------ accept waiting
    async def wait_outcome(self, offer_id: str, timeout: float) -> Record | None:
        """Routing's answer to an accept: ``ContactAssigned``, or the record that closed the
        offer (expired, rescinded); None when nothing came within ``timeout``."""
        future: asyncio.Future[Record] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(offer_id, []).append(future)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None
        finally:
            waiters = self._waiters.get(offer_id, [])
            if future in waiters:
                waiters.remove(future)
            if not waiters:
                self._waiters.pop(offer_id, None)

    def _resolve(self, offer_id: str, record: Record) -> None:
        for future in self._waiters.pop(offer_id, []):
            if not future.done():
                future.set_result(record)

    # ------------------------------------------------------------ screen pops
    async def pop_for(self, offer: OfferMade) -> dict[str, Any]:
        """The offer's screen pop, built once however many paths ask for it."""
        if offer.offer_id in self.pops:
            return self.pops[offer.offer_id]
        building = self._building.get(offer.offer_id)
        if building is not None:
            return await asyncio.shield(building)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._building[offer.offer_id] = future
        try:
            try:
                pop = await self._pop(offer)
            except Exception as exc:
                log.exception("screen pop for %s failed", offer.contact_id)
                metrics.ERRORS.labels(component="desk_screen_pop", kind=type(exc).__name__).inc()
                pop = {"contact_id": offer.contact_id, "error": "context unavailable"}
            pop.update(
                offer_id=offer.offer_id,
                agent_id=offer.agent_id,
                expires_at=offer.expires_at.isoformat(),
                callback=offer.callback,
                explanation=offer.explanation,
            )
            self.pops[offer.offer_id] = pop
            future.set_result(pop)
            return pop
        finally:
            if not future.done():
                future.cancel()
            self._building.pop(offer.offer_id, None)

    # ------------------------------------------------------------ restored work
    async def adopt_offer(self, offer: OfferMade) -> dict[str, Any] | None:
        """An open offer read from routing's state: known from now on (accept / reject work);
        its pop, or None when this desk has seen it closed meanwhile."""
        if offer.offer_id in self.closed:
            return None
        self.offers.setdefault(offer.offer_id, offer)
        return await self.pop_for(self.offers[offer.offer_id])

    async def adopt_assignment(self, offer: OfferMade) -> dict[str, Any]:
        """A current assignment read from routing's state (``offer`` is the one accepted)."""
        self.offers.setdefault(offer.offer_id, offer)
        self.closed[offer.offer_id] = "assigned"
        self.assigned[offer.contact_id] = offer.agent_id
        return await self.pop_for(self.offers[offer.offer_id])

    # ------------------------------------------------------------ records
    async def handle(self, record: Record) -> None:
        agent_id = getattr(record, "agent_id", None)
        if not agent_id:
            return
        event: dict[str, Any] = {"type": record.TYPE, "record": record.model_dump(mode="json")}
        if isinstance(record, OfferMade):
            if record.offer_id in self.offers:
                return  # replayed, or restored from routing's state already
            self.offers[record.offer_id] = record
            event = {"type": "offer", "offer": await self.pop_for(record)}
        elif isinstance(record, ContactAssigned):
            self.assigned[record.contact_id] = record.agent_id
            self.closed[record.offer_id] = "assigned"
            self._resolve(record.offer_id, record)
            if self.on_assigned is not None:
                try:
                    self.on_assigned(record)
                except Exception as exc:
                    log.exception("assignment hook failed for %s", record.offer_id)
                    metrics.ERRORS.labels(component="desk_assigned", kind=type(exc).__name__).inc()
        elif isinstance(record, _CLOSING):
            self.closed[record.offer_id] = record.TYPE
            self._resolve(record.offer_id, record)
        elif isinstance(record, ContactReleased):
            self.assigned.pop(record.contact_id, None)
        self.push(agent_id, event)


async def run_offers(
    settings: PlatformSettings, hub: OfferHub, ready: asyncio.Event | None = None
) -> None:
    """Follow the offers topic (every desk process sees every agent's offers and pushes to the
    agents connected to it)."""
    await follow_topic(
        settings,
        OFFERS,
        hub.handle,
        component="desk_offers",
        ready=ready,
    )
