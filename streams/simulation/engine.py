"""The discrete-event engine: the unchanged routing policy driven in virtual time.

A heap holds the timed events: the next arrival of every stream, handle-time completions
and patience expiries. Each becomes a routing input at its instant. The simulated agents
accept every offer at once (``OfferAccepted`` at the offer's instant), complete a contact
after its handle time (``ContactCompleted``), and a customer whose patience runs out while
still waiting abandons (``ContactAbandoned``). Offers never expire, so a ``Tick`` is needed
only where relaxation steps are due (one per step of every waiting arrival). Arrivals stop
at the end of the run; what arrived before is followed to its end.
With shifts, a shift's agents log in and get ready (``AgentLoggedIn``, ``AgentReady``) at its
start and log out (``AgentLoggedOut``) at its end, finishing the contacts in hand."""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from streams.routing.domain import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentReady,
    ContactAbandoned,
    ContactArrived,
    ContactAssigned,
    ContactCompleted,
    ContactQueued,
    ContactReleased,
    ContactRemoved,
    OfferAccepted,
    OfferMade,
    Router,
    RoutingInput,
    Tick,
)
from streams.simulation.config import SKILL, Scenario, Team
from streams.simulation.statistics import RunResult, Tally

_ARRIVAL, _COMPLETION, _PATIENCE, _SHIFT, _TICK = 0, 1, 2, 3, 4


@dataclass(slots=True)
class _Contact:
    stream: int
    arrived_at: float
    handle_seconds: float
    team: int
    counted: bool
    waiting: bool = True
    agent_id: str = ""
    predicted: float | None = None
    rough: bool = False
    level: int = 0  # the skill level it needs (with a skill mix)


class _Engine:
    def __init__(self, scenario: Scenario, seed: int, *, predict: bool) -> None:
        self.scenario = scenario
        self.rng = random.Random(seed)
        self.handle_time = scenario.handle.sampler(self.rng)
        self.teams: tuple[Team, ...] = scenario.teams()
        policy = scenario.policy()
        self.routers = [Router(policy, team.name) for team in self.teams]
        self.team_of_class = {
            cls: index
            for index, team in enumerate(self.teams)
            if team.classes is not None
            for cls in team.classes
        }
        self.heap: list[tuple[float, int, int, int]] = []
        self.sequence = 0
        self.contacts: dict[int, _Contact] = {}
        self.agent_team: dict[str, int] = {}
        self.agent_work: dict[str, int] = {}
        self.busy_since: dict[str, float] = {}
        self.busy = [0.0] * len(self.teams)
        self.start, self.end = scenario.warmup, scenario.end
        streams = scenario.arrivals
        self.classes = {s.customer_class: Tally() for s in streams}
        self.groups = {(s.customer_class, s.channel.value): Tally() for s in streams}
        self.stream_tallies = [
            (self.classes[s.customer_class], self.groups[(s.customer_class, s.channel.value)])
            for s in streams
        ]
        self.predict = predict
        self.last_prediction: float | None = None
        self.last_rough = False
        self.agent_level: dict[str, int] = {}
        self.shift_changes: list[tuple[bool, tuple[str, ...]]] = []  # (log in?, agents)
        self.staffed = [float(team.agents) * (self.end - self.start) for team in self.teams]
        patience = scenario.patience_seconds
        self.patience: Callable[[], float] | None = (
            None if patience is None else (lambda: self.rng.expovariate(1.0 / patience))
        )

    def push(self, at: float, kind: int, ref: int) -> None:
        self.sequence += 1
        heapq.heappush(self.heap, (at, self.sequence, kind, ref))

    def run(self) -> RunResult:
        for index, team in enumerate(self.teams):
            if index == 0 and self.scenario.shifts:
                self.schedule_shifts()
                continue
            for n in range(team.agents):
                agent_id = f"{team.name}-{n}"
                self.agent_team[agent_id] = index
                self.agent_work[agent_id] = 0
                self.apply(index, AgentLoggedIn(agent_id, self.agent_skills(agent_id, n)), 0.0)
                self.apply(index, AgentReady(agent_id), 0.0)
        for index, stream in enumerate(self.scenario.arrivals):
            if stream.per_hour > 0:
                self.push(self.rng.expovariate(stream.per_hour / 3600), _ARRIVAL, index)
        heap, contacts = self.heap, self.contacts
        while heap:
            now, _, kind, ref = heapq.heappop(heap)
            if kind == _ARRIVAL:
                self.arrive(ref, now)
            elif kind == _SHIFT:
                self.change_shift(ref, now)
            elif kind == _TICK:
                self.apply(ref, Tick(), now)
            elif kind == _COMPLETION:
                done = contacts.pop(ref)
                self.apply(done.team, ContactCompleted(str(ref), done.agent_id), now)
            elif (waiting := contacts.get(ref)) is not None and waiting.waiting:
                self.apply(waiting.team, ContactAbandoned(str(ref)), now)
        return RunResult(
            window_seconds=self.end - self.start,
            classes=self.classes,
            channels=self.groups,
            busy_seconds={team.name: self.busy[i] for i, team in enumerate(self.teams)},
            team_agents={team.name: team.agents for team in self.teams},
            staffed_seconds={team.name: self.staffed[i] for i, team in enumerate(self.teams)},
        )

    def agent_skills(self, agent_id: str, n: int) -> dict[str, int]:
        mix = self.scenario.skills
        if mix is None:
            return {}
        level = self.agent_level[agent_id] = mix.agent_levels[n % len(mix.agent_levels)]
        return {SKILL: level}

    def schedule_shifts(self) -> None:
        """The shared pool's agents per shift, in and out at every period of the run; the
        agent-seconds staffed within the window replace agents × window for occupancy."""
        name = self.teams[0].name
        self.staffed[0] = 0.0
        for number, shift in enumerate(self.scenario.shifts):
            agents = tuple(f"{name}-s{number}-{n}" for n in range(shift.agents))
            for agent_id in agents:
                self.agent_team[agent_id] = 0
                self.agent_work[agent_id] = 0
            for login, logout in shift.periods(self.end):
                overlap = min(logout, self.end) - max(login, self.start)
                self.staffed[0] += max(0.0, overlap) * shift.agents
                for at, logs_in in ((login, True), (logout, False)):
                    self.shift_changes.append((logs_in, agents))
                    self.push(at, _SHIFT, len(self.shift_changes) - 1)

    def change_shift(self, ref: int, now: float) -> None:
        logs_in, agents = self.shift_changes[ref]
        for agent_id in agents:
            if logs_in:
                self.apply(0, AgentLoggedIn(agent_id, {}), now)
                self.apply(0, AgentReady(agent_id), now)
            else:
                self.apply(0, AgentLoggedOut(agent_id), now)

    def arrive(self, index: int, now: float) -> None:
        stream = self.scenario.arrivals[index]
        if now >= self.end:
            return
        self.push(now + self.rng.expovariate(stream.per_hour / 3600), _ARRIVAL, index)
        self.sequence += 1
        contact_id = self.sequence
        team = self.team_of_class.get(stream.customer_class, 0)
        counted = now >= self.start
        contact = _Contact(index, now, self.handle_time(), team, counted)
        self.contacts[contact_id] = contact
        if counted:
            for tally in self.stream_tallies[index]:
                tally.offered += 1
        skills: dict[str, int] = {}
        if self.scenario.skills is not None:
            contact.level = self.rng.choice(self.scenario.skills.required_levels)
            skills = {SKILL: contact.level}
        event = ContactArrived(str(contact_id), stream.channel, stream.customer_class, skills)
        self.apply(team, event, now)
        if contact.waiting and self.predict:
            contact.predicted, contact.rough = self.last_prediction, self.last_rough
        if contact.waiting and skills:  # relaxation acts when the clock passes its steps
            for step in self.scenario.relaxation:
                self.push(now + step.after_seconds, _TICK, team)
        if contact.waiting and self.patience is not None:
            self.push(now + self.patience(), _PATIENCE, contact_id)

    def apply(self, team: int, event: RoutingInput, now: float) -> None:
        """One input and, at the same instant, the acceptance of every offer it made."""
        router = self.routers[team]
        pending: deque[RoutingInput] = deque([event])
        while pending:
            for decision in router.handle(pending.popleft(), now):
                kind = type(decision)
                if kind is OfferMade:
                    assert isinstance(decision, OfferMade)
                    pending.append(OfferAccepted(decision.offer_id, decision.agent_id))
                elif kind is ContactAssigned:
                    assert isinstance(decision, ContactAssigned)
                    self.assign(decision, now)
                elif kind is ContactReleased:
                    assert isinstance(decision, ContactReleased)
                    self.release(decision.agent_id, now)
                elif kind is ContactQueued:
                    assert isinstance(decision, ContactQueued)
                    self.last_prediction = decision.predicted_wait_seconds
                    self.last_rough = decision.rough_estimate
                elif kind is ContactRemoved:
                    assert isinstance(decision, ContactRemoved)
                    self.abandon(int(decision.contact_id))

    def assign(self, decision: ContactAssigned, now: float) -> None:
        contact_id = int(decision.contact_id)
        contact = self.contacts[contact_id]
        contact.waiting = False
        if contact.counted:
            for tally in self.stream_tallies[contact.stream]:
                tally.waits.append(decision.waited_seconds)
                if contact.predicted is not None:
                    tally.predicted.append(contact.predicted)
                    tally.queued_waits.append(decision.waited_seconds)
                    tally.rough.append(int(contact.rough))
                level = self.agent_level.get(decision.agent_id, 0)
                tally.full_match += level >= contact.level
                tally.shortfall += max(0, contact.level - level)
        agent = contact.agent_id = decision.agent_id
        self.agent_work[agent] += 1
        if self.agent_work[agent] == 1:
            self.busy_since[agent] = now
        self.push(now + contact.handle_seconds, _COMPLETION, contact_id)

    def release(self, agent: str, now: float) -> None:
        self.agent_work[agent] -= 1
        if self.agent_work[agent] == 0:
            since = self.busy_since.pop(agent)
            overlap = min(now, self.end) - max(since, self.start)
            if overlap > 0:
                self.busy[self.agent_team[agent]] += overlap

    def abandon(self, contact_id: int) -> None:
        contact = self.contacts.pop(contact_id)
        if contact.counted:
            for tally in self.stream_tallies[contact.stream]:
                tally.abandoned += 1


def run_replication(scenario: Scenario, seed: int, *, predict: bool = False) -> RunResult:
    """One independent run of the scenario with its own random stream. With ``predict``,
    the tallies keep, for every contact that has to queue, the wait routing predicted on its
    ``ContactQueued`` with the wait that followed."""
    return _Engine(scenario, seed, predict=predict).run()
