"""Seeded random traffic for property tests: events are drawn from the router's own state
(in sorted order, so the same seed gives the same sequence)."""

from __future__ import annotations

import random
from collections import Counter

from streams.routing.domain import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentNotReady,
    AgentProfileChanged,
    AgentReady,
    AgentStatus,
    CallbackRequested,
    Channel,
    ContactAbandoned,
    ContactArrived,
    ContactCompleted,
    ContactEnded,
    ContactStatus,
    EndContact,
    MoveContact,
    OfferAccepted,
    OfferContact,
    OfferRejected,
    PoolPolicy,
    PoolPolicyChanged,
    Router,
    RoutingInput,
    Tick,
)
from streams.routing.domain.eligibility import serves
from streams.routing.domain.model import qualifies

SKILLS = ("en", "es", "billing")
CLASSES = ("vip", "standard", "standard", "gold")
CHANNELS = tuple(Channel)


class Traffic:
    def __init__(self, seed: int, agents: int = 8) -> None:
        self.rng = random.Random(seed)
        self.serial = 0
        self.voice: set[str] = set()
        self.moved: list[str] = []
        self.profiles: dict[str, tuple[dict[str, int], dict[Channel, int] | None]] = {}
        for n in range(agents):
            skills = {s: self.rng.randint(1, 10) for s in SKILLS if self.rng.random() < 0.6}
            capacity = {Channel.CHAT: self.rng.randint(1, 4)} if self.rng.random() < 0.3 else None
            self.profiles[f"a{n}"] = (skills, capacity)

    def next_event(self, router: Router, now: float) -> RoutingInput:
        rng = self.rng
        contacts = router._contacts
        agents = router._agents
        roll = rng.random()
        by_status: dict[ContactStatus, list[str]] = {s: [] for s in ContactStatus}
        for cid in sorted(contacts):
            by_status[contacts[cid].status].append(cid)
        if roll < 0.14:
            self.serial += 1
            channel = rng.choice(CHANNELS)
            if channel is Channel.VOICE:
                self.voice.add(f"c{self.serial}")
            skills = {s: rng.randint(1, 4) for s in SKILLS if rng.random() < 0.25}
            last = rng.choice(sorted(self.profiles)) if rng.random() < 0.2 else None
            return ContactArrived(
                f"c{self.serial}",
                channel,
                rng.choice(CLASSES),
                skills,
                arrived_at=now - rng.choice((0.0, 0.0, 30.0)),
                last_agent_id=last,
                last_agent_at=now - rng.choice((10.0, 200_000.0)) if last else None,
            )
        if roll < 0.18:
            agent_id = rng.choice(sorted(self.profiles))
            skills, capacity = self.profiles[agent_id]
            return AgentLoggedIn(agent_id, skills, capacity)
        if roll < 0.27:
            return AgentReady(rng.choice(sorted(self.profiles)))
        if roll < 0.30:
            return AgentNotReady(rng.choice(sorted(self.profiles)), rng.choice(("break", "lunch")))
        if roll < 0.31:
            return AgentLoggedOut(rng.choice(sorted(self.profiles)))
        if roll < 0.58 and by_status[ContactStatus.OFFERED]:
            contact = contacts[rng.choice(by_status[ContactStatus.OFFERED])]
            assert contact.offer_id is not None and contact.agent_id is not None
            agent_id = contact.agent_id if rng.random() < 0.9 else rng.choice(sorted(agents))
            if rng.random() < 0.75:
                return OfferAccepted(contact.offer_id, agent_id)
            return OfferRejected(contact.offer_id, agent_id, "no")
        if roll < 0.76:
            held = by_status[ContactStatus.ASSIGNED] + by_status[ContactStatus.WRAP_UP]
            if held:
                contact = contacts[rng.choice(held)]
                assert contact.agent_id is not None
                if rng.random() < 0.5:
                    return ContactEnded(contact.contact_id)
                return ContactCompleted(contact.contact_id, contact.agent_id, "ok")
        if roll < 0.82 and contacts:
            cid = rng.choice(sorted(contacts))
            if rng.random() < 0.4:
                voice = [c for c in by_status[ContactStatus.WAITING] if c in self.voice]
                return CallbackRequested(rng.choice(voice) if voice else cid)
            return rng.choice((ContactAbandoned, ContactEnded))(cid)
        if roll < 0.84:
            return rng.choice(
                (OfferAccepted("ghost:1", "a0"), ContactEnded("ghost"), AgentReady("ghost"))
            )
        if roll < 0.87:
            return self._control(router)
        return Tick()

    def _control(self, router: Router) -> RoutingInput:
        """An admin's change or a supervisor's action (the control plane)."""
        rng = self.rng
        agent_id = rng.choice(sorted(self.profiles))
        contacts = sorted(router._contacts)
        cid = rng.choice(contacts) if contacts else "ghost"
        kind = rng.randrange(6)
        if kind == 0:
            skills = {s: rng.randint(1, 10) for s in SKILLS if rng.random() < 0.6}
            capacity = {Channel.CHAT: rng.randint(0, 4)} if rng.random() < 0.5 else {}
            self.profiles[agent_id] = (skills, capacity or None)
            return AgentProfileChanged(agent_id, skills, capacity)
        if kind == 1:
            weights = {c: float(rng.choice((0, 50, 100))) for c in sorted(set(CLASSES))}
            return PoolPolicyChanged(PoolPolicy(weights, rng.choice((0.0, 1.0, 2.0))))
        if kind == 2:
            if cid in router._contacts and router._contacts[cid].status is ContactStatus.WAITING:
                self.moved.append(cid)  # routing will move it
            return MoveContact(cid, "elsewhere", "test")
        if kind == 5 and self.moved:  # the customer leaves after the move: sent on
            return rng.choice((ContactAbandoned, ContactEnded))(rng.choice(self.moved))
        if kind == 3:
            return OfferContact(cid, agent_id, "test")
        return EndContact(cid, "stuck")

    def advance(self) -> float:
        return self.rng.choice((0.0, 0.5, 1.0, 2.0, 4.0, 21.0))


def check_invariants(router: Router) -> None:
    """What must hold after every step, checked by brute force."""
    config = router.config
    contacts = router._contacts
    agents = router._agents
    waiting = [c for c in contacts.values() if c.status is ContactStatus.WAITING]
    for agent in agents.values():
        for cid, channel in agent.work.items():
            contact = contacts[cid]
            assert contact.agent_id == agent.agent_id and contact.channel is channel
            assert contact.status is not ContactStatus.WAITING
            if contact.status is ContactStatus.OFFERED:
                assert agent.status is AgentStatus.READY, "offer pending to an absent agent"
        loads = Counter(agent.work.values())
        assert loads == Counter(agent.load)
        for channel, load in loads.items():
            assert load <= agent.capacity_on(channel, config), "agent over capacity"
        exclusive = [ch for ch in agent.work.values() if ch in config.exclusive_channels]
        if exclusive:
            held = len(agent.work) - len(exclusive)
            allowed = config.cross_channel_hold.get(exclusive[0], 0)
            assert len(exclusive) == 1 and held <= allowed, "exclusive work shared"
        if agent.status is not AgentStatus.READY:
            continue
        # Stronger than "not declined": declines only decide who goes first, so a ready
        # agent with room never idles while any contact it may serve waits.
        for contact in waiting:
            idle_for_it = qualifies(agent.skills, contact.key.skills) and agent.has_capacity(
                contact.channel, config
            )
            assert not idle_for_it, f"{agent.agent_id} idle while {contact.contact_id} waits"
    for contact in contacts.values():
        if contact.status is not ContactStatus.WAITING:
            holders = [a for a in agents.values() if contact.contact_id in a.work]
            assert len(holders) == 1, "contact held by several agents"
    assert router.agent_states() == {
        s.value: sum(1 for a in agents.values() if a.status is s) for s in AgentStatus
    }
    assert sum(s.waiting for s in router.queue_view()) == len(waiting)
    # a waiting contact is marked unservable exactly when no logged-in agent could take it
    for contact in contacts.values():
        possible = contact.status is ContactStatus.WAITING and not any(
            serves(agent, contact.key, config) for agent in agents.values()
        )
        assert (contact.unservable is not None) == possible, contact.contact_id
    assert sum(router.unservable_view().values()) == sum(
        1 for c in waiting if c.unservable is not None
    )
