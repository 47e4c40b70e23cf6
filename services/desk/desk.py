"""The desk's state shared by its handlers: the agents' live offers (the hub), accepts waiting
for routing's assignment, and the connect of each accepted contact (once per offer)."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from schemas.base import Record
from schemas.routing import ContactAssigned
from schemas.topics import AGENT_EVENTS
from services.admin.service import AdminService
from services.conversations import ConversationStore
from services.desk import wrapups
from services.desk.auth import Agent
from services.desk.channels import ChannelActions
from services.desk.guides import GuideDesk
from services.desk.hub import OfferHub
from services.desk.restore import LiveWork, live_work
from services.publisher import Publisher
from streams.platform import metrics
from streams.platform.settings import DeskSettings
from streams.routing.live_view import AgentWorkload, agent_workload

log = logging.getLogger(__name__)

MAX_CONNECTS_KEPT = 10_000


@dataclass
class Desk:
    settings: DeskSettings
    pool: asyncpg.Pool
    publisher: Publisher
    hub: OfferHub
    conversations: ConversationStore
    actions: ChannelActions
    # offer id → the agent who accepted it here and still waits for routing's assignment
    accepted: dict[str, Agent] = field(default_factory=dict)
    # offer id → its connect (call sid, None for a channel without one): one per offer
    connects: OrderedDict[str, asyncio.Task[str | None]] = field(default_factory=OrderedDict)
    # the guides agents follow on their contacts (None: no guides)
    guides: GuideDesk | None = None
    # the admin and supervisor APIs' operations (None: not served)
    admin: AdminService | None = None

    def __post_init__(self) -> None:
        self.hub.on_assigned = self._assigned

    async def publish(self, agent: Agent, record: Record) -> None:
        await self.publisher.publish(AGENT_EVENTS, agent.agent_id, record)

    # ------------------------------------------------------------ connecting accepted work
    def connect_once(
        self, offer_id: str, contact_id: str, agent: Agent
    ) -> asyncio.Task[str | None]:
        """Connect the assigned contact to the agent (a voice call: bridge or dial out), once
        per offer: a later call returns the same connect. A failed connect may be tried again."""
        task = self.connects.get(offer_id)
        if task is not None and not (
            task.done() and (task.cancelled() or task.exception() is not None)
        ):
            return task
        task = asyncio.create_task(self._connect(contact_id, agent))
        task.add_done_callback(_report_connect)
        self.connects[offer_id] = task
        self.connects.move_to_end(offer_id)
        while len(self.connects) > MAX_CONNECTS_KEPT:
            self.connects.popitem(last=False)
        return task

    async def _connect(self, contact_id: str, agent: Agent) -> str | None:
        conversation = await self.conversations.get(contact_id)
        if conversation is None or conversation.channel != "voice":
            return None
        return await self.actions.connect_voice(conversation, agent)

    def _assigned(self, record: ContactAssigned) -> None:
        """Routing's assignment seen on the offers topic: an accept made here that stopped
        waiting (202 pending) is connected now."""
        agent = self.accepted.pop(record.offer_id, None)
        if agent is not None and agent.agent_id == record.agent_id:
            self.connect_once(record.offer_id, record.contact_id, agent)

    async def owner(self, contact_id: str) -> str | None:
        """The agent who has the contact now: seen on the offers topic, else the interaction
        log's open row."""
        agent_id = self.hub.assigned.get(contact_id)
        if agent_id is None:
            agent_id = await self.pool.fetchval(
                "SELECT agent_id FROM contacts WHERE contact_id = $1 AND completed_at IS NULL",
                contact_id,
            )
        return agent_id

    async def current_work(self, agent: Agent) -> list[dict[str, Any]]:
        """The agent's state (routing's row), then the agent's assignments and open offers with
        their pops: from routing's state rows (what happened while no desk ran or before the
        agent connected) and from what this desk saw on the topic; each offer once."""
        events: list[dict[str, Any]] = []
        shown: set[str] = set()
        wrapped: dict[str, datetime] = {}
        try:
            record = await self.agent_status(agent)
            if record is not None:
                events.append({"type": "agent_state", "record": record})
            work = await live_work(self.pool, agent.pool_id, agent.agent_id)
            if work.assignments:
                ids = [offer.contact_id for offer in work.assignments]
                wrapped = await wrapups.started(self.pool, ids)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("routing state unavailable for %s: %r", agent.agent_id, exc)
            metrics.ERRORS.labels(component="desk_restore", kind=type(exc).__name__).inc()
            work = None
        if work is not None:
            for offer in work.assignments:
                pop = await self.hub.adopt_assignment(offer)
                events.append({"type": "assignment", "assignment": _restored(pop, work, wrapped)})
                shown.add(offer.offer_id)
            for offer in work.offers:
                found = await self.hub.adopt_offer(offer)
                if found is not None and offer.offer_id not in shown:
                    events.append({"type": "offer", "offer": found})
                    shown.add(offer.offer_id)
        for pop in self.hub.open_offers(agent.agent_id):
            if pop["offer_id"] not in shown:
                events.append({"type": "offer", "offer": pop})
                shown.add(pop["offer_id"])
        return events

    async def agent_status(self, agent: Agent) -> dict[str, Any] | None:
        """Routing's state of the agent, since when it holds, and the capacity per channel
        with the load routing counts; None when routing has no row of the agent."""
        workload = await agent_workload(self.pool, agent.pool_id, agent.agent_id)
        if workload is None:
            return None
        return {
            "state": workload.status,
            "reason": workload.reason,
            "since": workload.since,
            "capacity": self.capacity(workload),
        }

    def capacity(self, workload: AgentWorkload) -> dict[str, dict[str, int]]:
        """Per channel the agent can take: ``{"load": n, "capacity": m}`` (the agent's own
        capacity from the login, else the pool's)."""
        channels = {**self.settings.channel_capacity, **workload.capacity}
        return {
            channel: {"load": workload.load.get(channel, 0), "capacity": capacity}
            for channel, capacity in sorted(channels.items())
            if capacity > 0 or workload.load.get(channel, 0)
        }


def _restored(pop: dict[str, Any], work: LiveWork, wrapped: dict[str, datetime]) -> dict[str, Any]:
    """An assignment's pop with routing's times: when it was assigned, and the wrap-up under
    way (the customer ended: routing's status; the agent began it: the desk's record)."""
    contact_id = str(pop.get("contact_id"))
    restored = dict(pop)
    assigned_at = work.assigned_at.get(contact_id)
    if assigned_at is not None:
        restored["assigned_at"] = datetime.fromtimestamp(assigned_at, UTC).isoformat()
    phase = work.phases.get(contact_id)
    if phase is not None and phase.status == "wrap_up":
        restored["wrapup_since"] = phase.since.isoformat()
        restored["ended_by_customer"] = True
    elif contact_id in wrapped:
        restored["wrapup_since"] = wrapped[contact_id].isoformat()
    return restored


def _report_connect(task: asyncio.Task[str | None]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.warning("connecting an accepted contact failed: %r", exc)
        metrics.ERRORS.labels(component="desk_connect", kind=type(exc).__name__).inc()
