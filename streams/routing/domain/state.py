"""The state of one pool and its bookkeeping: records, indexes, change tracking, views,
and the rows it is stored as."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from streams.routing.domain import decisions
from streams.routing.domain.indexes import AgentIndex, ExpiryIndex, QueueIndex
from streams.routing.domain.memory import MovedAway, RecentIds
from streams.routing.domain.model import (
    AgentRecord,
    AgentStatus,
    Channel,
    ContactRecord,
    ContactStatus,
    PoolConfig,
    QueueKey,
)
from streams.routing.domain.pool_policy import PoolPolicy
from streams.routing.domain.prediction import KeySlots, SlotTotals, WaitEstimator, expected_wait
from streams.routing.domain.snapshot import agent_from_row, agent_row, contact_from_row, contact_row
from streams.routing.domain.waiting import Relaxation, UnservableFlags

Row = dict[str, Any]
Flagged = decisions.ContactMarkedUnservable | decisions.ContactBecameServable


@dataclass(frozen=True)
class QueueStat:
    """Waiting contacts of one (channel, class) and the longest current wait."""

    channel: Channel
    customer_class: str
    waiting: int
    longest_wait_seconds: float


@dataclass
class Step:
    """What one input did so far: its decisions, and the contacts (with the trigger) and
    agents to dispatch before it returns.

    ``now`` is the pool's clock for this input (never earlier than before); ``at`` is the
    input's own time, which measures waits and handle times; ``offers_from`` is when offers
    made now reach agents, where their window starts."""

    now: float
    at: float = 0.0
    offers_from: float = 0.0
    out: list[decisions.Decision] = field(default_factory=list)
    contacts: dict[str, str] = field(default_factory=dict)
    agents: set[str] = field(default_factory=set)

    def ignore(self, reason: str, subject_id: str) -> None:
        self.out.append(decisions.EventIgnored(reason=reason, subject_id=subject_id))


HELD = (ContactStatus.ASSIGNED, ContactStatus.WRAP_UP)


def _priors(config: PoolConfig) -> dict[str, float]:
    return {ch.value: seconds for ch, seconds in config.handle_prior_seconds.items()}


class PoolState:
    """Records and indexes of one pool; the router adds the policy on top."""

    def __init__(self, config: PoolConfig, pool_id: str) -> None:
        self.config = config
        self.pool_id = pool_id
        self._defaults = config  # the worker's; ``policy`` is applied on top of them
        self.policy = PoolPolicy()
        self._policy_changed = False
        self._clock = 0.0
        self._contacts: dict[str, ContactRecord] = {}
        self._agents: dict[str, AgentRecord] = {}
        self._offers: dict[str, str] = {}
        self._queues = QueueIndex(config.aging_per_second)
        self._available = AgentIndex(config)
        self._expiry = ExpiryIndex()
        self._status_counts = dict.fromkeys(AgentStatus, 0)
        self._dirty_contacts: set[str] = set()
        self._dirty_agents: set[str] = set()
        self._inputs = RecentIds()
        self._finished = RecentIds()
        self._moved = MovedAway()
        self._saved_clock = 0.0
        self._estimator = WaitEstimator(config.default_handle_seconds, priors=_priors(config))
        self._slots = SlotTotals(config)
        self._key_slots = KeySlots(config)
        self._unservable = UnservableFlags(config)
        self._eligibility = self._unservable.eligibility
        self._relaxation = Relaxation(config.relaxation_steps(pool_id))

    @property
    def clock(self) -> float:
        return self._clock

    def _advance(self, now: float) -> None:
        self._clock = now
        self._inputs.forget_before(now - self.config.input_memory_seconds)
        self._finished.forget_before(now - self.config.finished_memory_seconds)
        if self._moved:
            self._moved.forget_before(now - self.config.finished_memory_seconds)

    def _end_offer(
        self, contact: ContactRecord, *, indexed: bool = True
    ) -> tuple[str, AgentRecord]:
        """Remove a pending offer and free the agent's slot; the contact is left unqueued."""
        offer_id, agent_id, expires_at = (
            contact.offer_id,
            contact.agent_id,
            contact.offer_expires_at,
        )
        assert offer_id is not None and agent_id is not None and expires_at is not None
        if indexed:
            self._expiry.remove(expires_at, offer_id)
        del self._offers[offer_id]
        agent = self._agents[agent_id]
        agent.remove_work(contact.contact_id, self.config)
        self._agent_changed(agent)
        contact.offer_id = contact.agent_id = contact.offer_expires_at = None
        self._dirty_contacts.add(contact.contact_id)
        return offer_id, agent

    def _offer(
        self, contact: ContactRecord, agent: AgentRecord, why: decisions.Explanation, step: Step
    ) -> None:
        self._queues.remove(contact)
        self._stop_waiting(contact)
        contact.attempts += 1
        offer_id = f"{contact.contact_id}:{contact.attempts}"
        expires_at = max(step.now, step.offers_from) + self.config.offer_timeout_seconds
        contact.status = ContactStatus.OFFERED
        contact.offer_id, contact.agent_id, contact.offer_expires_at = (
            offer_id,
            agent.agent_id,
            expires_at,
        )
        self._offers[offer_id] = contact.contact_id
        self._expiry.add(expires_at, offer_id)
        agent.add_work(contact.contact_id, contact.channel, self.config)
        self._agent_changed(agent)
        self._dirty_contacts.add(contact.contact_id)
        step.out.append(
            decisions.OfferMade(
                offer_id=offer_id,
                contact_id=contact.contact_id,
                agent_id=agent.agent_id,
                attempt=contact.attempts,
                expires_at=expires_at,
                callback=contact.callback,
                explanation=why,
            )
        )

    def _set_policy(self, policy: PoolPolicy) -> None:
        """Adopt a pool policy: the configuration it gives, and every index that depends on
        it rebuilt (weights and aging order the queues); records are unchanged."""
        self.policy = policy
        self._policy_changed = True
        config = policy.applied_to(self._defaults)
        self.config = config
        known = self._available.keys()  # the per-key indexes (eligibility, slots) know them
        self._queues = QueueIndex(config.aging_per_second)
        self._available = AgentIndex(config)
        self._slots = SlotTotals(config)
        for contact in self._contacts.values():
            contact.effective_class = config.effective_class(contact.customer_class)
            contact.weight = config.weight(contact.customer_class)
            if contact.status is ContactStatus.WAITING:
                self._queues.add(contact)
        for key in [*known, *self._queues.active_keys()]:
            self._available.register(key, self._agents.values())
        for agent in self._agents.values():
            self._slots.update(agent)

    def policy_row(self) -> dict[str, Any]:
        """The pool's policy as stored with its state."""
        return self.policy.to_row()

    def moved_row(self) -> dict[str, list[object]] | None:
        """Where the contacts moved away went, when that changed since the last
        ``take_dirty`` (None: unchanged, keep what is stored)."""
        return self._moved.to_row() if self._moved.changed else None

    # ---------------------------------------------------------------- bookkeeping

    def _register(self, key: QueueKey) -> None:
        """The indexes per key learn a key the first time a contact of it is seen (each
        scans the agents once)."""
        if not self._queues.has_key(key):
            self._available.register(key, self._agents.values())
            self._eligibility.register(key, self._agents.values())
            self._key_slots.register(key, self._agents.values())

    def _enqueue(self, contact: ContactRecord) -> None:
        self._register(contact.key)
        self._queues.add(contact)
        self._relaxation.schedule(contact)
        self._dirty_contacts.add(contact.contact_id)

    def _requeue(self, contact: ContactRecord, reason: str, step: Step) -> None:
        contact.status = ContactStatus.WAITING
        self._enqueue(contact)
        step.out.append(decisions.ContactRequeued(contact.contact_id, reason, contact.arrived_at))
        self._flag_if_unservable(contact, step)
        step.contacts[contact.contact_id] = "requeued"

    # ---------------------------------------------------------------- eligibility, relaxation

    def _flag_if_unservable(self, contact: ContactRecord, step: Step) -> None:
        self._announce(step, [self._unservable.check(contact)])

    def _announce(self, step: Step, out: Sequence[Flagged | None]) -> None:
        """Flag changes, announced; the contacts they name are stored with the batch."""
        for decision in out:
            if decision is not None:
                step.out.append(decision)
                self._dirty_contacts.add(decision.contact_id)

    def _stop_waiting(self, contact: ContactRecord) -> None:
        """The contact leaves the queue (offered, gone, moved): no flag, no timer."""
        if self._unservable.clear(contact):
            self._dirty_contacts.add(contact.contact_id)
        self._relaxation.cancel(contact.contact_id)

    def _eligibility_changed(self, agent: AgentRecord, step: Step) -> None:
        """An agent's skills, capacity or presence changed: contacts of the keys that lost
        their last server or gained their first are flagged or cleared."""

        def waiting(key: QueueKey) -> Iterator[ContactRecord]:
            return (self._contacts[rank[2]] for rank in self._queues.ranks(key))

        self._announce(step, self._unservable.agent_changed(agent, waiting))

    def unservable_view(self) -> dict[tuple[str, str], int]:
        """Waiting unservable contacts per (channel, requirement nobody meets)."""
        return self._unservable.view()

    def _relax_due(self, step: Step) -> int:
        """Widen the requirement of every waiting contact whose next step is due at the
        pool's clock (time from the inputs: replays widen at the same input); the widened
        contacts are placed with the wider ring of agents by the dispatch."""
        done = 0
        for contact_id in self._relaxation.due(step.now):
            contact = self._contacts[contact_id]
            before = contact.key
            self._queues.remove(contact)
            rule = self._relaxation.widen(contact)
            self._enqueue(contact)
            done += 1
            if contact.key == before:  # the step asks for nothing this contact needs
                continue
            waited = max(0.0, step.now - contact.arrived_at)
            step.out.append(
                decisions.ContactRelaxed(
                    contact_id, contact.relaxed, waited, before.label, contact.key.label,
                    rule.describe(),
                )
            )  # fmt: skip
            if self._unservable.clear(contact) and self._eligibility.servable(contact.key):
                reason = f"relaxed {rule.describe()}"
                step.out.append(decisions.ContactBecameServable(contact_id, reason))
            self._flag_if_unservable(contact, step)
            step.contacts.setdefault(contact_id, "relaxed")
        return done

    def _drop(self, contact: ContactRecord) -> None:
        self._stop_waiting(contact)
        del self._contacts[contact.contact_id]
        self._dirty_contacts.add(contact.contact_id)
        self._finished.add(contact.contact_id, self._clock)

    def _agent_changed(self, agent: AgentRecord) -> None:
        self._available.update(agent)
        self._dirty_agents.add(agent.agent_id)
        self._slots.update(agent)
        self._key_slots.update(agent, self._available.qualified_keys(agent))

    # ---------------------------------------------------------------- predicted wait

    def _predict(
        self, channel: Channel, customer_class: str, now: float, key: QueueKey | None = None
    ) -> float | None:
        """The expected wait of a contact of the class joining the channel's queue now,
        behind the contacts waiting there (see ``prediction``); None when unbounded: no
        ready agent serves it, or higher classes take every slot. With ``key`` only the
        agents qualified for the key's skills count."""
        weight = self.config.weight(customer_class)
        ahead = sum(
            count
            for cls, count in self._queues.counts(channel)
            if cls == customer_class or self.config.weight(cls) > weight
        )
        estimator = self._estimator
        if key is None:
            free, slots = self._slots.free(channel), self._slots.slots(channel)
        else:
            self._register(key)
            free, slots = self._key_slots.free(key), self._key_slots.slots(key)
        wait = expected_wait(
            ahead,
            free,
            slots,
            estimator.handle_seconds(channel.value),
            estimator.higher_erlangs(channel.value, weight, self.config.class_weights, now),
        )
        return round(wait, 3) if math.isfinite(wait) else None

    def serving(self) -> dict[str, dict[str, Any]]:
        """Per queue key with waiting contacts (``QueueKey.label``), who could serve it:
        logged-in agents qualified, the slots and free room of the ready ones, the handle
        time the estimate assumes and whether it is rough. Readers outside routing (the
        chat's place in line, the IVR) make a waiting contact's estimate from it."""
        return {
            key.label: {
                "logged_in": self._eligibility.servers(key),
                "slots": self._key_slots.slots(key),
                "free": self._key_slots.free(key),
                "handle_seconds": round(self._estimator.handle_seconds(key.channel.value), 3),
                "rough": self._estimator.rough(key.channel.value),
            }
            for key in sorted(self._queues.active_keys())
        }

    def predicted_waits(self) -> dict[str, dict[str, float | None]]:
        """The predicted wait of a new arrival per class and channel at the pool's clock,
        for every configured class and every channel the configuration or a ready agent
        gives capacity."""
        channels = [
            ch for ch in Channel if self.config.capacity.get(ch, 0) > 0 or self._slots.slots(ch)
        ]
        return {
            cls: {ch.value: self._predict(ch, cls, self._clock) for ch in channels}
            for cls in sorted(self.config.class_weights)
        }

    def estimator_row(self) -> dict[str, Any]:
        """What the prediction remembers, as stored with the pool."""
        return self._estimator.to_row()

    # ---------------------------------------------------------------- views and persistence

    def queue_view(self) -> tuple[QueueStat, ...]:
        """Waiting contacts per (channel, class) with the longest wait at the router clock;
        O(number of groups)."""
        return tuple(
            QueueStat(channel, cls, count, self._clock - earliest)
            for channel, cls, count, earliest in self._queues.groups()
        )

    def agents_able(self) -> dict[str, int]:
        """Per channel any agent or the configuration serves, the ready agents able to take
        it now or once their own work on it ends (not held by other channels' work)."""
        return {
            ch.value: self._slots.able(ch)
            for ch in Channel
            if self.config.capacity.get(ch, 0) > 0 or self._slots.slots(ch)
        }

    def agent_states(self) -> dict[str, int]:
        """Agent counts by state (every state present)."""
        return {status.value: count for status, count in self._status_counts.items()}

    def take_dirty(self) -> tuple[dict[str, Row | None], dict[str, Row | None]]:
        """Rows of the contacts and agents changed since the last call (None = removed),
        keyed by id in id order; clears the change sets."""
        contacts = {
            cid: contact_row(c) if (c := self._contacts.get(cid)) is not None else None
            for cid in sorted(self._dirty_contacts)
        }
        agents = {
            aid: agent_row(a) if (a := self._agents.get(aid)) is not None else None
            for aid in sorted(self._dirty_agents)
        }
        self._dirty_contacts.clear()
        self._dirty_agents.clear()
        self._saved_clock = self._clock
        self._estimator.changed = False
        self._policy_changed = False
        self._moved.changed = False
        return contacts, agents

    def take_memory(self) -> tuple[dict[str, float], dict[str, float]]:
        """Input ids applied and contact ids finished since the last call, with their pool
        time; what is older than ``memory_horizons()`` may be forgotten by storage."""
        return self._inputs.take_new(), self._finished.take_new()

    def memory_horizons(self) -> tuple[float, float]:
        """Pool times before which applied inputs and finished contacts are forgotten."""
        return (
            self._clock - self.config.input_memory_seconds,
            self._clock - self.config.finished_memory_seconds,
        )

    def unsaved(self) -> bool:
        """Whether anything changed since the last ``take_dirty`` (the clock included: a
        replay must start from the clock the original run had)."""
        return bool(
            self._dirty_contacts
            or self._dirty_agents
            or self._clock != self._saved_clock
            or self._inputs.has_new()
            or self._finished.has_new()
            or self._estimator.changed
            or self._policy_changed
            or self._moved.changed
        )

    @classmethod
    def restore(
        cls,
        config: PoolConfig,
        pool_id: str,
        contacts: Iterable[Row],
        agents: Iterable[Row],
        clock: float,
        inputs: Iterable[tuple[str, float]] = (),
        finished: Iterable[tuple[str, float]] = (),
        estimator: Mapping[str, Any] | None = None,
        policy: Mapping[str, Any] | None = None,
        moved: Mapping[str, Any] | None = None,
    ) -> Self:
        """A router equal in behaviour to the one whose rows (and remembered ids, and
        prediction memory: ``estimator_row()``, and policy: ``policy_row()``) these are;
        indexes are rebuilt. ``config`` is the worker's default, the policy applies on it;
        ``moved`` is ``moved_row()``."""
        router = cls(config, pool_id)
        router.policy = PoolPolicy.from_row(policy)
        config = router.config = router.policy.applied_to(config)
        router._queues = QueueIndex(config.aging_per_second)
        router._available = AgentIndex(config)
        router._slots = SlotTotals(config)
        router._clock = router._saved_clock = float(clock)
        router._inputs = RecentIds(inputs)
        router._finished = RecentIds(finished)
        router._moved = MovedAway(dict(moved) if moved else None)
        router._estimator = WaitEstimator.from_row(
            estimator, config.default_handle_seconds, _priors(config)
        )
        for row in agents:
            agent = agent_from_row(row)
            router._agents[agent.agent_id] = agent
            router._status_counts[agent.status] += 1
        for row in contacts:
            contact = contact_from_row(row, config)
            router._contacts[contact.contact_id] = contact
            if contact.status is ContactStatus.WAITING:
                router._queues.add(contact)
                router._relaxation.schedule(contact)
                continue
            assert contact.agent_id is not None
            router._agents[contact.agent_id].add_work(contact.contact_id, contact.channel, config)
            if contact.status is ContactStatus.OFFERED:
                assert contact.offer_id is not None and contact.offer_expires_at is not None
                router._offers[contact.offer_id] = contact.contact_id
                router._expiry.add(contact.offer_expires_at, contact.offer_id)
        for key in list(router._queues.active_keys()):
            router._available.register(key, router._agents.values())
            router._eligibility.register(key, router._agents.values())
            router._key_slots.register(key, router._agents.values())
        for agent in router._agents.values():
            router._slots.update(agent)
            router._eligibility.update(agent)
        for contact in router._contacts.values():
            if contact.status is ContactStatus.WAITING:
                router._unservable.restored(contact)
        return router
