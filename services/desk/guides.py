"""Guides on the desk: the run of each contact's guide, the customer data its current step
shows, and every action on it saved with its audit rows and published on the guide-events
topic. An escalation hands the contact to routing (a transfer) with the run and its notes."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from schemas import agents as ag
from schemas.guides import GUIDE_EVENT_TYPES
from schemas.topics import AGENT_EVENTS, GUIDE_EVENTS
from services.conversations import ConversationStore
from services.customers import CustomerDirectory
from services.desk.auth import Agent
from services.desk.screen_pop import notice_summary, profile_for
from services.publisher import Publisher, PublishFailed
from streams.guides import domain as g
from streams.guides.ports import AuditRow, GuideStore, StoredRun
from streams.platform import metrics
from streams.routing.live_view import contact_skills

log = logging.getLogger(__name__)
ROUTING_ROW_POLLS, ROUTING_ROW_POLL_SECONDS = 10, 0.1


class GuideConflict(Exception):
    """Someone else changed the run meanwhile: the agent reloads it and tries again."""


def _now() -> float:
    return datetime.now(UTC).timestamp()


@dataclass
class GuideDesk:
    guides: tuple[g.Guide, ...]
    store: GuideStore
    pool: asyncpg.Pool
    publisher: Publisher
    conversations: ConversationStore
    customers: CustomerDirectory

    def guide(self, guide_id: str, version: int | None = None) -> g.Guide:
        for guide in self.guides:
            if guide.guide_id == guide_id and version in (None, guide.version):
                return guide
        raise g.GuideRefused("unknown_guide", f"no guide {guide_id!r}")

    def catalogue(self) -> list[dict[str, Any]]:
        return [
            {"guide_id": x.guide_id, "title": x.title, "reason": x.reason}
            for x in self.guides
            if x.trigger.agent_pick
        ]

    # ------------------------------------------------------------ the run of a contact
    async def for_offer(self, contact_id: str, agent_id: str, pool_id: str) -> dict[str, Any]:
        """The guide of an offered contact for its screen pop: started when the contact's
        trigger matches a guide; an escalated run is resumed by the agent it reaches."""
        stored = await self.store.get(contact_id)
        if stored is None:
            guide = await self._matching(contact_id)
            if guide is None:
                return {"status": "none", "available": self.catalogue()}
            stored = await self._start(guide, contact_id, agent_id, pool_id)
        elif stored.run.status == "escalated":
            guide = self.guide(stored.run.guide_id, stored.run.version)
            stored = await self._apply(stored, g.resume(guide, stored.run, _now()), agent_id)
        return await self.view(stored)

    async def pick(self, contact_id: str, guide_id: str, agent: Agent) -> dict[str, Any]:
        """The agent picks the guide of a contact none was started for."""
        guide = self.guide(guide_id)
        stored = await self.store.get(contact_id)
        if stored is None:
            pool_id = await self._pool_of(contact_id) or agent.pool_id
            stored = await self._start(guide, contact_id, agent.agent_id, pool_id)
        return await self.view(stored)

    async def current(self, contact_id: str) -> StoredRun | None:
        return await self.store.get(contact_id)

    async def act(
        self, contact_id: str, agent: Agent, action: str, **args: str
    ) -> tuple[StoredRun, g.Transition]:
        """Record, skip or note on the contact's run; GuideRefused when the run refuses."""
        stored = await self.store.get(contact_id)
        if stored is None:
            raise g.GuideRefused("no_guide", f"contact {contact_id} has no guide")
        guide = self.guide(stored.run.guide_id, stored.run.version)
        now = _now()
        if action == "record":
            t = g.record_step(guide, stored.run, args["step_id"], args["value"], now)
        elif action == "skip":
            t = g.skip_step(guide, stored.run, args["step_id"], args["reason"], now)
        elif action == "note":
            t = g.add_note(
                stored.run, args.get("step_id") or None, args["text"], now, agent.agent_id
            )
        else:
            t = g.complete(guide, stored.run, now)
        saved = await self._apply(stored, t, agent.agent_id)
        if t.escalation is not None:
            await self._transfer(saved, t.escalation, agent)
        return saved, t

    async def complete(self, contact_id: str, agent: Agent) -> None:
        """Before the contact completes: its guide (if any) completes, or GuideRefused names
        the required steps missing."""
        if await self.store.get(contact_id) is not None:
            await self.act(contact_id, agent, "complete")

    async def hand_over_again(self, contact_id: str, agent: Agent) -> dict[str, Any]:
        """Send an escalated contact's transfer again (its publish failed): the same event id,
        so routing applies it once."""
        stored = await self.store.get(contact_id)
        if stored is None or stored.run.status != "escalated":
            raise g.GuideRefused("not_escalated", f"contact {contact_id} is not escalated")
        guide = self.guide(stored.run.guide_id, stored.run.version)
        step = next(
            s
            for s in reversed(guide.steps)
            if s.escalate is not None and s.id in stored.run.results
        )
        assert step.escalate is not None
        await self._transfer(stored, step.escalate, agent)
        return await self.view(stored)

    # ------------------------------------------------------------ what the agent sees
    async def view(self, stored: StoredRun) -> dict[str, Any]:
        run = stored.run
        guide = self.guide(run.guide_id, run.version)
        steps = []
        for step in guide.steps:
            result = run.results.get(step.id)
            status = (
                result.status if result else ("bypassed" if step.id in run.bypassed else "open")
            )
            steps.append(
                {
                    "id": step.id,
                    "title": step.title,
                    "required": step.required,
                    "status": status,
                    "value": result.value if result else None,
                }
            )
        current = None
        if run.current is not None:
            step = guide.step(run.current)
            current = {
                "id": step.id,
                "title": step.title,
                "instructions": step.instructions,
                "record": step.record,
                "options": list(step.answers() or ()),
                "required": step.required,
                "escalates": step.escalate is not None,
                "unmet": list(g.unmet_preconditions(run, step)),
                "data": await self.step_data(run.contact_id, step.shows),
            }
        return {
            "guide_id": guide.guide_id,
            "version": guide.version,
            "title": guide.title,
            "reason": guide.reason,
            "status": run.status,
            "current_step": current,
            "steps": steps,
            "missing_required": list(g.missing_required(guide, run)),
            "notes": [{"step_id": n.step_id, "text": n.text, "by": n.by} for n in run.notes],
        }

    async def step_data(self, contact_id: str, shows: tuple[str, ...]) -> dict[str, Any]:
        if not shows:
            return {}
        conversation = await self.conversations.get(contact_id)
        profile = await profile_for(self.customers, conversation)
        data: dict[str, Any] = {}
        if "profile" in shows:
            data["profile"] = profile.as_json()
        if "tier" in shows:
            data["tier"] = profile.tier
        if {"notices", "recent_contacts"} & set(shows):
            context = await self.customers.context(profile, limit=6)
            if "notices" in shows:
                data["notices"] = [notice_summary(n) for n in context.notices]
            if "recent_contacts" in shows:
                data["recent_contacts"] = [
                    r for r in context.recent if r["contact_id"] != contact_id
                ][:5]
        if "balances" in shows:
            rows = await self.pool.fetch(
                "SELECT account, balance::text AS balance, currency, overdue_days"
                " FROM customer_balances WHERE customer_id = $1 ORDER BY account",
                profile.customer_id,
            )
            data["balances"] = [dict(r) for r in rows]
        plain: dict[str, Any] = json.loads(json.dumps(data, default=str))  # JSON for the pop
        return plain

    # ------------------------------------------------------------ internals
    async def _matching(self, contact_id: str) -> g.Guide | None:
        skills = await contact_skills(self.pool, contact_id)
        for _ in range(ROUTING_ROW_POLLS):  # routing stores its batch just after the offer
            if skills is not None:
                break
            await asyncio.sleep(ROUTING_ROW_POLL_SECONDS)
            skills = await contact_skills(self.pool, contact_id)
        conversation = await self.conversations.get(contact_id)
        text = (conversation.subject or "") if conversation else ""
        if conversation is not None and conversation.channel in {"sms", "chat"}:
            messages = await self.conversations.messages(contact_id, limit=1)
            text = f"{text} {messages[0].body}" if messages else text
        channel = conversation.channel if conversation else ""
        return g.guide_for(self.guides, channel, list(skills or ()), text)

    async def _pool_of(self, contact_id: str) -> str | None:
        conversation = await self.conversations.get(contact_id)
        return conversation.pool_id if conversation else None

    async def _start(
        self, guide: g.Guide, contact_id: str, agent_id: str, pool_id: str
    ) -> StoredRun:
        started = g.start(guide, contact_id, _now())
        fresh = StoredRun(g.GuideRun(contact_id, guide.guide_id, guide.version), pool_id)
        try:
            return await self._apply(fresh, started, agent_id)
        except GuideConflict:  # started meanwhile (another offer of the same contact)
            stored = await self.store.get(contact_id)
            assert stored is not None
            return stored

    async def _apply(self, stored: StoredRun, t: g.Transition, agent_id: str) -> StoredRun:
        if not t.events:
            return stored
        guide = self.guide(t.run.guide_id, t.run.version)
        saved = await self.store.save(
            t.run,
            expected_seq=stored.run.seq,
            events=t.events,
            pool_id=stored.pool_id,
            agent_id=agent_id,
            required=guide.required,
        )
        if not saved:
            raise GuideConflict(stored.run.contact_id)
        for event in t.events:
            metrics.GUIDE_EVENTS.labels(guide=guide.guide_id, kind=event.kind).inc()
        await self.publish_audit(stored.run.contact_id)
        return StoredRun(t.run, stored.pool_id)

    async def publish_audit(self, contact_id: str) -> None:
        """Send the contact's audit rows not yet on the topic (earlier failures included); a
        failure leaves them recorded as unpublished for the next action to send."""
        rows = await self.store.unpublished(contact_id)
        try:
            for row in rows:
                await self.publisher.publish(GUIDE_EVENTS, contact_id, _record(row))
        except PublishFailed as exc:
            log.warning("guide audit of %s not published yet: %s", contact_id, exc)
            metrics.ERRORS.labels(component="desk_guides", kind="PublishFailed").inc()
        else:
            await self.store.mark_published([r.event_id for r in rows])

    async def _transfer(self, stored: StoredRun, escalation: g.Escalation, agent: Agent) -> None:
        record = ag.ContactTransferred(
            event_id=f"{stored.run.contact_id}:transfer:{stored.run.seq}",
            pool_id=stored.pool_id,
            agent_id=agent.agent_id,
            contact_id=stored.run.contact_id,
            skills=dict(escalation.skills),
            reason=escalation.reason,
        )
        await self.publisher.publish(AGENT_EVENTS, agent.agent_id, record)


def _record(row: AuditRow) -> Any:
    event = row.event
    return GUIDE_EVENT_TYPES[event.kind](
        event_id=row.event_id,
        occurred_at=datetime.fromtimestamp(event.at, UTC),
        pool_id=row.pool_id,
        contact_id=row.contact_id,
        guide_id=row.guide_id,
        version=row.version,
        seq=event.seq,
        agent_id=row.agent_id,
        step_id=event.step_id,
        value=event.value,
        reason=event.reason,
    )
