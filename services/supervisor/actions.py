"""A supervisor's actions on the floor, each audited with its reason and sent to routing as a
routing input (``schemas.control``); routing decides the outcome (an action on a contact that
changed meanwhile is ignored there, with its reason, in the interaction log)."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from schemas import control
from schemas.base import Record
from schemas.topics import AGENT_EVENTS, ROUTING, TopicSpec
from services.admin.model import Change, PoolId
from services.admin.ports import AdminStore, NotFound
from services.publisher import Publisher
from streams.platform.metrics import CONTROL_ACTIONS
from streams.routing.live_view import contact_status, pool_agents

Reason = Field(min_length=1, max_length=200, description="why (audited)")


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ForceState(_Body):
    state: control.ForcedState
    reason: str = Reason


class MoveTo(_Body):
    to_pool_id: PoolId
    reason: str = Reason


class OfferTo(_Body):
    agent_id: str = Field(min_length=1, max_length=200)
    reason: str = Reason


class EndIt(_Body):
    reason: str = Reason


class ActionAccepted(_Body):
    """The action went to routing as ``event_id``; its outcome shows on the floor."""

    action: str
    pool_id: str
    subject_id: str
    event_id: str


class Conflict(Exception):
    """The contact is not in a state the action applies to (409)."""


class FloorActions:
    def __init__(self, store: AdminStore, publisher: Publisher, db: asyncpg.Pool) -> None:
        self.store = store
        self.publisher = publisher
        self.db = db

    async def force_state(
        self, actor: str, pool_id: str, agent_id: str, body: ForceState
    ) -> ActionAccepted:
        agents = {a.agent_id: a for a in await pool_agents(self.db, pool_id)}
        agent = agents.get(agent_id)
        if agent is None:
            raise NotFound(f"no agent {agent_id!r} in pool {pool_id!r}")
        record = control.ForceAgentState(
            pool_id=pool_id, agent_id=agent_id, state=body.state, reason=body.reason, actor_id=actor
        )
        before = {"state": agent.status, "reason": agent.reason}
        after = {"requested": body.state.value}
        return await self._send(
            actor,
            "agent.force_state",
            "agent",
            agent_id,
            pool_id,
            body.reason,
            before,
            after,
            AGENT_EVENTS,
            agent_id,
            record,
        )

    async def move(self, actor: str, pool_id: str, contact_id: str, body: MoveTo) -> ActionAccepted:
        status = await self._waiting(pool_id, contact_id)
        if body.to_pool_id == pool_id:
            raise Conflict("the contact is in that pool already")
        record = control.MoveContact(
            pool_id=pool_id,
            contact_id=contact_id,
            to_pool_id=body.to_pool_id,
            reason=body.reason,
            actor_id=actor,
        )
        after = {"requested": "move", "to_pool_id": body.to_pool_id}
        return await self._send_contact(
            actor, "contact.move", pool_id, contact_id, body.reason, status, after, record
        )

    async def offer(
        self, actor: str, pool_id: str, contact_id: str, body: OfferTo
    ) -> ActionAccepted:
        status = await self._waiting(pool_id, contact_id)
        agents = {a.agent_id: a for a in await pool_agents(self.db, pool_id)}
        if body.agent_id not in agents:
            raise NotFound(f"no agent {body.agent_id!r} in pool {pool_id!r}")
        record = control.OfferContact(
            pool_id=pool_id,
            contact_id=contact_id,
            agent_id=body.agent_id,
            reason=body.reason,
            actor_id=actor,
        )
        after = {"requested": "offer", "agent_id": body.agent_id}
        return await self._send_contact(
            actor, "contact.offer", pool_id, contact_id, body.reason, status, after, record
        )

    async def end(self, actor: str, pool_id: str, contact_id: str, body: EndIt) -> ActionAccepted:
        before = await self._live(pool_id, contact_id)
        record = control.EndContact(
            pool_id=pool_id, contact_id=contact_id, reason=body.reason, actor_id=actor
        )
        return await self._send_contact(
            actor,
            "contact.end",
            pool_id,
            contact_id,
            body.reason,
            before,
            {"requested": "end"},
            record,
        )

    async def _live(self, pool_id: str, contact_id: str) -> dict[str, str | None]:
        """The contact's routing status and agent (the audit's "before"); 404 without one."""
        found = await contact_status(self.db, pool_id, contact_id)
        if found is None:
            raise NotFound(f"no live contact {contact_id!r} in pool {pool_id!r}")
        return {"status": found.status, "agent_id": found.agent_id}

    async def _waiting(self, pool_id: str, contact_id: str) -> dict[str, str | None]:
        before = await self._live(pool_id, contact_id)
        if before["status"] != "waiting":
            raise Conflict(f"the contact is {before['status']}, not waiting")
        return before

    async def _send_contact(
        self,
        actor: str,
        action: str,
        pool_id: str,
        contact_id: str,
        reason: str,
        before: Mapping[str, str | None],
        after: Mapping[str, str | None],
        record: Record,
    ) -> ActionAccepted:
        """An action on a contact: audited under the contact, sent to its pool's routing."""
        return await self._send(
            actor,
            action,
            "contact",
            contact_id,
            pool_id,
            reason,
            before,
            after,
            ROUTING,
            pool_id,
            record,
        )

    async def _send(
        self,
        actor: str,
        action: str,
        kind: str,
        subject: str,
        pool_id: str,
        reason: str,
        before: Mapping[str, str | None],
        after: Mapping[str, str | None],
        topic: TopicSpec,
        key: str,
        record: Record,
    ) -> ActionAccepted:
        change = Change(actor_id=actor, action=action, reason=reason)
        await self.store.record(
            change, kind, subject, pool_id, dict(before), {**after, "event_id": record.event_id}
        )
        await self.publisher.publish(topic, key, record)
        CONTROL_ACTIONS.labels(action=action).inc()
        return ActionAccepted(
            action=action, pool_id=pool_id, subject_id=subject, event_id=record.event_id
        )
