"""The two routing choices, each O(log n) plus a walk bounded by declines:
which agent a contact goes to, and which contact an available agent takes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from streams.routing.domain.decisions import AgentCandidate, ContactCandidate, Explanation
from streams.routing.domain.indexes import AgentIndex, ContactRank, QueueIndex
from streams.routing.domain.model import (
    AgentRecord,
    Channel,
    ContactRecord,
    PoolConfig,
    QueueKey,
)

MAX_CANDIDATES = 5


@dataclass(frozen=True)
class AgentChoice:
    agent: AgentRecord
    explanation: Explanation


@dataclass(frozen=True)
class ContactChoice:
    contact: ContactRecord
    declined: bool
    explanation: Explanation


def _agent_candidate(
    agent: AgentRecord, contact: ContactRecord, now: float, *, last_agent: bool = False
) -> AgentCandidate:
    return AgentCandidate(
        agent_id=agent.agent_id,
        load=agent.load.get(contact.channel, 0),
        idle_seconds=now - agent.idle_since,
        proficiency=tuple((s, agent.skills.get(s, 0)) for s in sorted(contact.skills)),
        declined=agent.agent_id in contact.declined,
        last_agent=last_agent,
    )


def _last_agent_note(
    contact: ContactRecord,
    agents: Mapping[str, AgentRecord],
    index: AgentIndex,
    config: PoolConfig,
    now: float,
) -> tuple[AgentRecord | None, str]:
    """The contact's last agent if it should get the contact now, else why not (or "")."""
    last_id, last_at = contact.last_agent_id, contact.last_agent_at
    if last_id is None or last_at is None:
        return None, ""
    if now - last_at > config.last_agent_window_seconds:
        return None, f"last agent {last_id} outside window"
    agent = agents.get(last_id)
    if agent is None or not index.available(last_id, contact.key):
        return None, f"last agent {last_id} not available"
    if last_id in contact.declined:
        return None, f"last agent {last_id} declined"
    return agent, ""


def _compare_agents(winner: AgentCandidate, other: AgentCandidate | None, channel: str) -> str:
    if other is None:
        return "only eligible agent available"
    if winner.load != other.load:
        return f"least load on {channel}: {winner.load} vs {other.load} ({other.agent_id})"
    if winner.idle_seconds != other.idle_seconds:
        return (
            f"equal load {winner.load}; idle {winner.idle_seconds:.1f}s beat "
            f"{other.idle_seconds:.1f}s ({other.agent_id})"
        )
    return f"equal load and idle time; agent id before {other.agent_id}"


def choose_agent(
    contact: ContactRecord,
    agents: Mapping[str, AgentRecord],
    index: AgentIndex,
    config: PoolConfig,
    now: float,
    *,
    trigger: str,
    allow_declined: bool,
) -> AgentChoice | None:
    """The agent a waiting contact should be offered to now, or None.

    The last agent within the window wins if available and not declined; otherwise the
    available agent with least load on the channel, longest idle, then lowest id. Agents
    who declined the contact are passed over; with ``allow_declined`` the best of them is
    taken when nobody else is available."""
    last, note = _last_agent_note(contact, agents, index, config, now)
    if last is not None:
        shown = [_agent_candidate(last, contact, now, last_agent=True)]
        for rank in index.ranks(contact.key):
            if rank[2] != last.agent_id:
                shown.append(_agent_candidate(agents[rank[2]], contact, now))
                break
        return AgentChoice(
            last,
            Explanation(
                trigger=trigger,
                side="contact",
                candidates=tuple(shown),
                winner=last.agent_id,
                reason="last agent within window",
            ),
        )
    considered: list[AgentCandidate] = []
    winner: tuple[AgentRecord, AgentCandidate] | None = None
    fallback: tuple[AgentRecord, AgentCandidate] | None = None
    runner_up: AgentCandidate | None = None
    for rank in index.ranks(contact.key):
        agent = agents[rank[2]]
        candidate = _agent_candidate(agent, contact, now)
        considered.append(candidate)
        if winner is not None:
            runner_up = candidate
            break
        if not candidate.declined:
            winner = (agent, candidate)
        elif fallback is None:
            fallback = (agent, candidate)
    skipped = sum(1 for c in considered if c.declined and c is not runner_up)
    if len(considered) > MAX_CANDIDATES:
        tail = 2 if runner_up is not None else 1
        considered = considered[: MAX_CANDIDATES - tail] + considered[-tail:]
    if winner is None:
        if fallback is None or not allow_declined:
            return None
        winner = fallback
        reason = (
            f"only agents who declined this contact are available; {winner[1].agent_id} "
            f"has load {winner[1].load} and idled {winner[1].idle_seconds:.1f}s"
        )
    else:
        reason = _compare_agents(winner[1], runner_up, contact.channel.value)
        if skipped:
            reason += f"; skipped {skipped} agent(s) who declined"
    if note:
        reason += f"; {note}"
    return AgentChoice(
        winner[0],
        Explanation(
            trigger=trigger,
            side="contact",
            candidates=tuple(considered),
            winner=winner[0].agent_id,
            reason=reason,
        ),
    )


def _contact_candidate(
    contact: ContactRecord, config: PoolConfig, now: float, declined: bool
) -> ContactCandidate:
    return ContactCandidate(
        contact_id=contact.contact_id,
        customer_class=contact.effective_class,
        waited_seconds=now - contact.arrived_at,
        priority=contact.priority(config.aging_per_second, now),
        declined=declined,
    )


def _describe(candidate: ContactCandidate) -> str:
    return f"{candidate.customer_class} priority {candidate.priority:.1f}"


def choose_contact(
    agent: AgentRecord,
    contacts: Mapping[str, ContactRecord],
    queues: QueueIndex,
    config: PoolConfig,
    now: float,
    *,
    trigger: str,
    qualified: Iterable[QueueKey],
) -> ContactChoice | None:
    """The highest-priority waiting contact the agent may take now, or None.

    Looks at the top of every queue key of ``qualified`` (the keys whose skills the agent
    has) with waiting contacts and capacity for the agent, skipping contacts the agent
    declined; only if every such contact was declined by it is the best declined one
    returned (``declined=True``), for the caller to place."""
    picks: list[tuple[bool, ContactRank]] = []
    room: dict[Channel, bool] = {}
    for key in qualified:
        if not queues.waiting(key):
            continue
        if key.channel not in room:
            room[key.channel] = agent.has_capacity(key.channel, config)
        if not room[key.channel]:
            continue
        first: ContactRank | None = None
        chosen = False
        for rank in queues.ranks(key):
            declined = agent.agent_id in contacts[rank[2]].declined
            if chosen:
                picks.append((declined, rank))
                break
            if first is None:
                first = rank
            if not declined:
                picks.append((False, rank))
                chosen = True
        if not chosen and first is not None:
            picks.append((True, first))
    if not picks:
        return None
    picks.sort()
    fallback, best_rank = picks[0]
    best = contacts[best_rank[2]]
    candidates = [
        _contact_candidate(contacts[rank[2]], config, now, declined)
        for declined, rank in picks[:MAX_CANDIDATES]
    ]
    winner = candidates[0]
    others = [c for c in candidates[1:] if not c.declined]
    if fallback:
        reason = f"{_describe(winner)} is waiting and only contacts this agent declined remain"
    elif not others:
        reason = f"{_describe(winner)} is the only eligible waiting contact"
    elif winner.priority != others[0].priority:
        reason = f"{_describe(winner)} beat {_describe(others[0])}"
    else:
        reason = f"{_describe(winner)} tied {_describe(others[0])}; earlier arrival first"
    if best.customer_class != best.effective_class:
        reason += f" (unknown class {best.customer_class!r} treated as {best.effective_class})"
    return ContactChoice(
        best,
        fallback,
        Explanation(
            trigger=trigger,
            side="agent",
            candidates=tuple(candidates),
            winner=best.contact_id,
            reason=reason,
        ),
    )
