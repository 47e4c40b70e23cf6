"""The router of one pool: applies inputs to the pool state and returns its decisions.

One handler per input type, side by side: together they are the pool's state machine, which
reads best in one place (the state and its bookkeeping live in ``state``, the two choices in
``policy``, the indexes in ``indexes``)."""

from __future__ import annotations

from streams.routing.domain import decisions, events
from streams.routing.domain.model import (
    AgentRecord,
    AgentStatus,
    Channel,
    ContactRecord,
    ContactStatus,
    QueueKey,
)
from streams.routing.domain.policy import choose_agent, choose_contact
from streams.routing.domain.state import HELD, PoolState, QueueStat, Step

__all__ = ["QueueStat", "Router"]


class Router(PoolState):
    """Routing state and policy of one pool; pure and synchronous.

    ``handle(event, now, input_id=..., processed_at=...)`` applies one input that happened
    at ``now`` (epoch seconds) and returns the decisions, in order. The router's clock never
    goes back (``max(now, clock)``); waits and handle times are measured with the input's own
    ``now``. ``input_id`` (the input's event id) makes a redelivered input a no-op:
    ``[EventIgnored("duplicate_input", id)]`` and nothing changes. ``processed_at`` is when
    the decisions reach agents: an offer's window starts there, so a backlog worked off
    late does not hand out offers that are already due. Same state + same inputs + same
    arguments give identical decisions. Inputs that change nothing yield ``EventIgnored``,
    never an exception. A finished contact stays finished: inputs about it are ignored for
    ``config.finished_memory_seconds``.

    Persistence: ``take_dirty()`` gives the rows changed since its last call, and
    ``Router.restore(config, pool_id, contacts, agents, clock)`` rebuilds an equivalent
    router from the stored rows (see ``PoolState``).

    Every ``ContactQueued`` carries the arrival's predicted wait (``prediction``), made from
    the pool's state before the contact joins; ``predicted_waits()`` gives it for a new
    arrival of every class and channel."""

    # ---------------------------------------------------------------- entry point

    def handle(
        self,
        event: events.RoutingInput,
        now: float,
        *,
        input_id: str | None = None,
        processed_at: float | None = None,
    ) -> list[decisions.Decision]:
        if input_id is not None and input_id in self._inputs:
            return [decisions.EventIgnored("duplicate_input", input_id)]
        previous = self._clock
        clock = max(float(now), previous)
        step = Step(clock, at=float(now), offers_from=max(clock, processed_at or clock))
        self._advance(clock)
        if input_id is not None:
            self._inputs.add(input_id, clock)
        relaxations = self._relax_due(step) if self._relaxation.steps else 0
        match event:
            case events.ContactArrived():
                self._contact_arrived(event, step)
            case events.ContactAbandoned() | events.ContactEnded():
                if not self._forwarded(event.contact_id, event.KIND, step):
                    self._contact_gone(event.contact_id, step)
            case events.CallbackRequested():
                if not self._forwarded(event.contact_id, event.KIND, step):
                    self._callback(event, step)
            case events.MessageLeft():
                self._message_left(event, step)
            case events.AgentLoggedIn():
                self._logged_in(event, step)
            case events.AgentLoggedOut():
                self._leave(event.agent_id, AgentStatus.LOGGED_OUT, "logged_out", step)
            case events.AgentNotReady():
                self._leave(event.agent_id, AgentStatus.NOT_READY, event.reason, step)
            case events.AgentReady():
                self._ready(event, step)
            case events.OfferAccepted():
                self._accepted(event, step)
            case events.OfferRejected():
                self._rejected(event, step)
            case events.ContactCompleted():
                self._completed(event, step)
            case events.ContactTransferred():
                self._transferred(event, step)
            case events.Tick():
                self._tick(step, advanced=step.now > previous or relaxations > 0)
            case events.AgentProfileChanged():
                self._profile_changed(event, step)
            case events.PoolPolicyChanged():
                self._policy_set(event, step)
            case events.MoveContact():
                self._move(event, step)
            case events.OfferContact():
                self._offer_to(event, step)
            case events.EndContact():
                self._end(event, step)
        self._dispatch(step)
        return step.out

    # ---------------------------------------------------------------- contacts

    def _contact_arrived(self, event: events.ContactArrived, step: Step) -> None:
        if event.contact_id in self._contacts:
            step.ignore("duplicate_contact", event.contact_id)
            return
        if event.contact_id in self._finished:
            step.ignore("contact_finished", event.contact_id)
            return
        self._moved.discard(event.contact_id)  # moved back here
        arrived = step.now if event.arrived_at is None else min(event.arrived_at, step.now)
        effective = self.config.effective_class(event.customer_class)
        key = QueueKey.of(event.channel, event.skills)
        predicted = self._predict(event.channel, effective, step.now, key)
        no_agent = not self._eligibility.servable(key)
        self._estimator.arrived(event.channel.value, effective, step.now)
        contact = ContactRecord(
            contact_id=event.contact_id,
            channel=event.channel,
            customer_class=event.customer_class,
            effective_class=effective,
            weight=self.config.weight(event.customer_class),
            skills=dict(event.skills),
            arrived_at=arrived,
            last_agent_id=event.last_agent_id,
            last_agent_at=event.last_agent_at,
            attempts=event.attempts,
            callback=event.callback,
        )
        self._contacts[contact.contact_id] = contact
        self._enqueue(contact)
        step.out.append(
            decisions.ContactQueued(
                contact_id=contact.contact_id,
                customer_class=contact.customer_class,
                channel=contact.channel.value,
                priority=contact.priority(self.config.aging_per_second, step.now),
                arrived_at=contact.arrived_at,
                predicted_wait_seconds=None if no_agent else predicted,
                no_agent_available=no_agent,
                rough_estimate=self._estimator.rough(contact.channel.value),
            )
        )
        self._flag_if_unservable(contact, step)
        step.contacts[contact.contact_id] = "contact_arrived"

    def _contact_gone(self, contact_id: str, step: Step) -> None:
        """The customer hung up / left: abandonment before assignment, wrap-up after."""
        contact = self._contacts.get(contact_id)
        if contact is None:
            step.ignore(self._missing(contact_id), contact_id)
            return
        if contact.status is ContactStatus.WRAP_UP:
            step.ignore("already_ended", contact_id)
            return
        if contact.status is ContactStatus.ASSIGNED:
            contact.status = ContactStatus.WRAP_UP
            self._dirty_contacts.add(contact_id)
            return
        if contact.callback:
            step.ignore("callback_pending", contact_id)
            return
        if contact.status is ContactStatus.WAITING:
            self._queues.remove(contact)
        else:
            offer_id, agent = self._end_offer(contact)
            step.out.append(
                decisions.OfferRescinded(offer_id, contact_id, agent.agent_id, reason="abandoned")
            )
            step.agents.add(agent.agent_id)
        self._drop(contact)
        waited = max(0.0, step.at - contact.arrived_at)
        step.out.append(decisions.ContactRemoved(contact_id, "abandoned", waited))

    def _callback(self, event: events.CallbackRequested, step: Step) -> None:
        contact = self._contacts.get(event.contact_id)
        if contact is None:
            step.ignore(self._missing(event.contact_id), event.contact_id)
        elif contact.channel is not Channel.VOICE:
            step.ignore("not_voice", event.contact_id)
        elif contact.status is not ContactStatus.WAITING:
            step.ignore("not_waiting", event.contact_id)
        elif contact.callback:
            step.ignore("callback_already_requested", event.contact_id)
        else:
            contact.callback = True
            self._dirty_contacts.add(contact.contact_id)

    def _message_left(self, event: events.MessageLeft, step: Step) -> None:
        """A waiting chat becomes an e-mail: same arrival time (its place among its class),
        the e-mail channel's capacity and agents, its eligibility asked again."""
        contact = self._contacts.get(event.contact_id)
        if contact is None:
            step.ignore(self._missing(event.contact_id), event.contact_id)
        elif contact.channel is not Channel.CHAT:
            step.ignore("not_chat", event.contact_id)
        elif contact.status is not ContactStatus.WAITING:
            step.ignore("not_waiting", event.contact_id)
        else:
            self._queues.remove(contact)
            self._stop_waiting(contact)
            contact.channel = Channel.EMAIL
            self._requeue(contact, "left_message", step)

    def _completed(self, event: events.ContactCompleted, step: Step) -> None:
        held = self._release(event.contact_id, event.agent_id, HELD, step)
        if held is None:
            return
        contact, agent = held
        self._drop(contact)
        assigned_at = step.at if contact.assigned_at is None else contact.assigned_at
        handled = max(0.0, step.at - assigned_at)
        self._estimator.handled(contact.channel.value, handled)
        step.out.append(
            decisions.ContactReleased(
                contact.contact_id, agent.agent_id, event.disposition, handled
            )
        )
        step.agents.add(agent.agent_id)

    def _transferred(self, event: events.ContactTransferred, step: Step) -> None:
        """Escalation or transfer: the agent is freed; the contact waits for the new skills
        (or its own, to a named agent), keeping its original arrival time (its place among
        the contacts of its class). A named agent who is ready with room for it gets the
        offer now; otherwise the contact waits in the queue like any transfer."""
        if event.to_agent_id == event.agent_id:
            step.ignore("same_agent", event.contact_id)
            return
        held = self._release(event.contact_id, event.agent_id, (ContactStatus.ASSIGNED,), step)
        if held is None:
            return
        contact, agent = held
        contact.agent_id = contact.offer_id = None
        contact.assigned_at = None
        if event.skills:
            contact.skills = dict(event.skills)
            contact.required, contact.relaxed = None, 0  # the new queue's steps start over
        contact.declined.add(agent.agent_id)
        self._requeue(contact, "transferred", step)
        step.agents.add(agent.agent_id)
        if event.to_agent_id is not None:
            self._offer_transfer(contact, event.to_agent_id, event.reason, step)

    def _offer_transfer(self, contact: ContactRecord, agent_id: str, note: str, step: Step) -> None:
        target = self._agents.get(agent_id)
        if target is None or target.status is not AgentStatus.READY:
            step.ignore("transfer_agent_not_ready", agent_id)  # the queue serves it
            return
        if not target.has_capacity(contact.channel, self.config):
            step.ignore("transfer_agent_at_capacity", agent_id)
            return
        reason = "transferred by an agent" + (f": {note}" if note else "")
        candidate = decisions.AgentCandidate(
            agent_id=target.agent_id,
            load=target.load.get(contact.channel, 0),
            idle_seconds=step.now - target.idle_since,
            proficiency=tuple((s, target.skills.get(s, 0)) for s in sorted(contact.skills)),
        )
        why = decisions.Explanation("transfer", "contact", (candidate,), target.agent_id, reason)
        self._offer(contact, target, why, step)

    def _release(
        self,
        contact_id: str,
        agent_id: str,
        statuses: tuple[ContactStatus, ...],
        step: Step,
    ) -> tuple[ContactRecord, AgentRecord] | None:
        """Free ``agent_id`` of the contact it holds in one of ``statuses``; None (the input
        ignored with its reason) when the contact is not held so by that agent."""
        contact = self._contacts.get(contact_id)
        if contact is None:
            step.ignore(self._missing(contact_id), contact_id)
            return None
        if contact.status not in statuses:
            step.ignore("not_assigned", contact_id)
            return None
        if contact.agent_id != agent_id:
            step.ignore("agent_mismatch", contact_id)
            return None
        agent = self._agents[agent_id]
        agent.remove_work(contact.contact_id, self.config)
        agent.idle_since = step.now
        self._agent_changed(agent)
        return contact, agent

    def _missing(self, contact_id: str) -> str:
        return "contact_finished" if contact_id in self._finished else "unknown_contact"

    # ---------------------------------------------------------------- agents

    def _logged_in(self, event: events.AgentLoggedIn, step: Step) -> None:
        skills = dict(event.skills)
        capacity = dict(event.capacity or {})
        agent = self._agents.get(event.agent_id)
        if agent is None:
            agent = AgentRecord(event.agent_id, skills, capacity, AgentStatus.LOGGED_OUT)
            agent.idle_since = step.now
            self._agents[agent.agent_id] = agent
            self._status_counts[AgentStatus.LOGGED_OUT] += 1
        elif agent.status is not AgentStatus.LOGGED_OUT:
            if agent.skills == skills and agent.capacity == capacity:
                step.ignore("already_logged_in", agent.agent_id)
                return
            agent.skills, agent.capacity = skills, capacity
            self._agent_changed(agent)
            self._eligibility_changed(agent, step)
            step.agents.add(agent.agent_id)
            return
        agent.skills, agent.capacity = skills, capacity
        self._set_status(agent, AgentStatus.NOT_READY, "logged_in", step)

    def _ready(self, event: events.AgentReady, step: Step) -> None:
        agent = self._agents.get(event.agent_id)
        if agent is None:
            step.ignore("unknown_agent", event.agent_id)
        elif agent.status is AgentStatus.LOGGED_OUT:
            step.ignore("agent_logged_out", event.agent_id)
        elif agent.status is AgentStatus.READY:
            step.ignore("already_ready", event.agent_id)
        else:
            agent.missed_offers = 0
            self._set_status(agent, AgentStatus.READY, "", step)
            step.agents.add(agent.agent_id)

    def _leave(self, agent_id: str, status: AgentStatus, reason: str, step: Step) -> None:
        """Not ready or logged out: work in progress stays, pending offers are withdrawn."""
        agent = self._agents.get(agent_id)
        if agent is None:
            step.ignore("unknown_agent", agent_id)
            return
        if agent.status is AgentStatus.LOGGED_OUT:
            step.ignore("agent_logged_out", agent_id)
            return
        if agent.status is status and agent.reason == reason:
            step.ignore(f"already_{status.value}", agent_id)
            return
        self._set_status(agent, status, reason, step)
        self._withdraw_offers(agent, f"agent_{status.value}", step)

    def _set_status(self, agent: AgentRecord, status: AgentStatus, reason: str, step: Step) -> None:
        self._status_counts[agent.status] -= 1
        self._status_counts[status] += 1
        agent.status, agent.reason = status, reason
        if status is AgentStatus.READY:
            agent.idle_since = step.now
        self._agent_changed(agent)
        step.out.append(decisions.AgentStateChanged(agent.agent_id, status.value, reason))
        self._eligibility_changed(agent, step)

    def _withdraw_offers(self, agent: AgentRecord, reason: str, step: Step) -> None:
        offered = sorted(
            cid for cid in agent.work if self._contacts[cid].status is ContactStatus.OFFERED
        )
        for cid in offered:
            contact = self._contacts[cid]
            offer_id, _ = self._end_offer(contact)
            step.out.append(decisions.OfferRescinded(offer_id, cid, agent.agent_id, reason))
            self._requeue(contact, "offer_withdrawn", step)

    # ---------------------------------------------------------------- offers

    def _lookup_offer(self, offer_id: str, agent_id: str, step: Step) -> ContactRecord | None:
        """The pending offer's contact if ``agent_id`` may answer it, else records why not."""
        contact_id = self._offers.get(offer_id)
        if contact_id is None:
            known = self._contacts.get(offer_id.rpartition(":")[0])
            if known is not None and known.offer_id == offer_id and known.status in HELD:
                step.ignore("offer_already_accepted", offer_id)
            elif known is not None:
                step.ignore("offer_not_pending", offer_id)
            else:
                step.ignore("unknown_offer", offer_id)
            return None
        contact = self._contacts[contact_id]
        if contact.agent_id != agent_id:
            step.ignore("offer_agent_mismatch", offer_id)
            return None
        return contact

    def _accepted(self, event: events.OfferAccepted, step: Step) -> None:
        contact = self._lookup_offer(event.offer_id, event.agent_id, step)
        if contact is None:
            return
        expires_at = contact.offer_expires_at
        if expires_at is not None and step.now >= expires_at:
            step.ignore("offer_expired", event.offer_id)
            self._expire(contact, step, indexed=True)
            return
        if expires_at is not None:
            self._expiry.remove(expires_at, event.offer_id)
        del self._offers[event.offer_id]
        agent = self._agents[event.agent_id]
        agent.missed_offers = 0
        answered_at = max(step.at, contact.arrived_at)
        contact.status = ContactStatus.ASSIGNED
        contact.offer_expires_at = None
        contact.assigned_at = answered_at
        self._dirty_contacts.add(contact.contact_id)
        self._dirty_agents.add(agent.agent_id)
        step.out.append(
            decisions.ContactAssigned(
                contact.contact_id,
                agent.agent_id,
                event.offer_id,
                answered_at - contact.arrived_at,
            )
        )

    def _rejected(self, event: events.OfferRejected, step: Step) -> None:
        contact = self._lookup_offer(event.offer_id, event.agent_id, step)
        if contact is None:
            return
        offer_id, agent = self._end_offer(contact)
        step.out.append(
            decisions.OfferDeclined(offer_id, contact.contact_id, agent.agent_id, event.reason)
        )
        contact.declined.add(agent.agent_id)
        self._requeue(contact, "offer_rejected", step)
        step.agents.add(agent.agent_id)

    def _tick(self, step: Step, *, advanced: bool) -> None:
        expired = False
        while (offer_id := self._expiry.pop_due(step.now)) is not None:
            expired = True
            self._expire(self._contacts[self._offers[offer_id]], step, indexed=False)
        if not expired and not advanced:
            step.ignore("stale_tick", self.pool_id)

    def _expire(self, contact: ContactRecord, step: Step, *, indexed: bool) -> None:
        offer_id, agent = self._end_offer(contact, indexed=indexed)
        step.out.append(decisions.OfferExpired(offer_id, contact.contact_id, agent.agent_id))
        contact.declined.add(agent.agent_id)
        self._requeue(contact, "offer_expired", step)
        agent.missed_offers += 1
        self._dirty_agents.add(agent.agent_id)
        step.agents.add(agent.agent_id)
        limit = self.config.max_missed_offers
        if limit and agent.missed_offers >= limit and agent.status is AgentStatus.READY:
            self._set_status(agent, AgentStatus.NOT_READY, "missed_offers", step)
            self._withdraw_offers(agent, "agent_not_ready", step)

    # ---------------------------------------------------------------- control plane

    def _profile_changed(self, event: events.AgentProfileChanged, step: Step) -> None:
        agent = self._agents.get(event.agent_id)
        if agent is None:
            step.ignore("unknown_agent", event.agent_id)  # its login brings the profile
            return
        skills, capacity = dict(event.skills), dict(event.capacity)
        if agent.skills == skills and agent.capacity == capacity:
            step.ignore("profile_unchanged", event.agent_id)
            return
        agent.skills, agent.capacity = skills, capacity
        self._agent_changed(agent)
        self._eligibility_changed(agent, step)
        step.agents.add(agent.agent_id)

    def _policy_set(self, event: events.PoolPolicyChanged, step: Step) -> None:
        if event.policy == self.policy:
            step.ignore("policy_unchanged", self.pool_id)
            return
        self._set_policy(event.policy)
        step.agents.update(  # ready agents look again: the best contact may have changed
            a.agent_id for a in self._agents.values() if a.status is AgentStatus.READY
        )

    def _waiting(self, contact_id: str, step: Step) -> ContactRecord | None:
        contact = self._contacts.get(contact_id)
        if contact is None:
            step.ignore(self._missing(contact_id), contact_id)
            return None
        if contact.status is not ContactStatus.WAITING:
            step.ignore("not_waiting", contact_id)
            return None
        return contact

    def _move(self, event: events.MoveContact, step: Step) -> None:
        contact = self._waiting(event.contact_id, step)
        if contact is None:
            return
        if event.to_pool_id == self.pool_id:
            step.ignore("same_pool", event.contact_id)
            return
        self._queues.remove(contact)
        self._stop_waiting(contact)
        del self._contacts[contact.contact_id]  # not finished: it may come back later
        self._dirty_contacts.add(contact.contact_id)
        self._moved.add(contact.contact_id, event.to_pool_id, step.now)
        step.out.append(
            decisions.ContactMoved(
                contact_id=contact.contact_id,
                to_pool_id=event.to_pool_id,
                reason=event.reason,
                channel=contact.channel.value,
                customer_class=contact.customer_class,
                skills=tuple(sorted(contact.skills.items())),
                arrived_at=contact.arrived_at,
                attempts=contact.attempts,
                callback=contact.callback,
                last_agent_id=contact.last_agent_id,
                last_agent_at=contact.last_agent_at,
            )
        )

    def _forwarded(self, contact_id: str, kind: str, step: Step) -> bool:
        """Whether the input is about a contact moved away from here (then sent on)."""
        if contact_id in self._contacts:
            return False
        to_pool_id = self._moved.where(contact_id)
        if to_pool_id is None:
            return False
        step.out.append(decisions.ContactInputForwarded(contact_id, to_pool_id, kind))
        return True

    def _offer_to(self, event: events.OfferContact, step: Step) -> None:
        contact = self._waiting(event.contact_id, step)
        if contact is None:
            return
        agent = self._agents.get(event.agent_id)
        if agent is None or agent.status is not AgentStatus.READY:
            step.ignore("agent_not_ready", event.agent_id)
            return
        if not agent.has_capacity(contact.channel, self.config):
            step.ignore("agent_at_capacity", event.agent_id)
            return
        reason = "offered by a supervisor" + (f": {event.reason}" if event.reason else "")
        candidate = decisions.AgentCandidate(
            agent_id=agent.agent_id,
            load=agent.load.get(contact.channel, 0),
            idle_seconds=step.now - agent.idle_since,
            proficiency=tuple((s, agent.skills.get(s, 0)) for s in sorted(contact.skills)),
        )
        why = decisions.Explanation("supervisor", "contact", (candidate,), agent.agent_id, reason)
        self._offer(contact, agent, why, step)

    def _end(self, event: events.EndContact, step: Step) -> None:
        contact = self._contacts.get(event.contact_id)
        if contact is None:
            step.ignore(self._missing(event.contact_id), event.contact_id)
            return
        reason = "ended_by_supervisor"
        if contact.status is ContactStatus.WAITING:
            self._queues.remove(contact)
        elif contact.status is ContactStatus.OFFERED:
            offer_id, agent = self._end_offer(contact)
            step.out.append(
                decisions.OfferRescinded(offer_id, contact.contact_id, agent.agent_id, reason)
            )
            step.agents.add(agent.agent_id)
        else:
            assert contact.agent_id is not None
            held = self._release(contact.contact_id, contact.agent_id, HELD, step)
            assert held is not None
            _, agent = held
            self._drop(contact)
            assigned_at = step.at if contact.assigned_at is None else contact.assigned_at
            handled = max(0.0, step.at - assigned_at)
            step.out.append(
                decisions.ContactReleased(contact.contact_id, agent.agent_id, reason, handled)
            )
            step.agents.add(agent.agent_id)
            return
        self._drop(contact)
        waited = max(0.0, step.at - contact.arrived_at)
        step.out.append(decisions.ContactRemoved(contact.contact_id, reason, waited))

    # ---------------------------------------------------------------- dispatch

    def _dispatch(self, step: Step) -> None:
        """Place new/requeued contacts with agents who did not decline them, then let every
        agent that gained room take work, then place what is left with anyone available."""
        aging = self.config.aging_per_second
        waiting = sorted(
            (contact.rank(aging), trigger)
            for cid, trigger in step.contacts.items()
            if (contact := self._contacts.get(cid)) is not None
            and contact.status is ContactStatus.WAITING
        )
        for rank, trigger in waiting:
            self._place(self._contacts[rank[2]], trigger, step, allow_declined=False)
        for agent_id in sorted(step.agents):
            self._fill(self._agents[agent_id], step)
        for rank, trigger in waiting:
            contact = self._contacts.get(rank[2])
            if contact is not None and contact.status is ContactStatus.WAITING:
                self._place(contact, trigger, step, allow_declined=True)

    def _place(
        self, contact: ContactRecord, trigger: str, step: Step, *, allow_declined: bool
    ) -> bool:
        choice = choose_agent(
            contact,
            self._agents,
            self._available,
            self.config,
            step.now,
            trigger=trigger,
            allow_declined=allow_declined,
        )
        if choice is None:
            return False
        self._offer(contact, choice.agent, choice.explanation, step)
        return True

    def _fill(self, agent: AgentRecord, step: Step) -> None:
        while agent.status is AgentStatus.READY:
            choice = choose_contact(
                agent,
                self._contacts,
                self._queues,
                self.config,
                step.now,
                trigger="agent_available",
                qualified=self._available.qualified_keys(agent),
            )
            if choice is None:
                return
            if choice.declined:
                # Only contacts this agent declined are left for it: let the contact pick
                # (someone who did not decline it first; this agent is available anyway).
                self._place(choice.contact, "agent_available", step, allow_declined=True)
            else:
                self._offer(choice.contact, agent, choice.explanation, step)
