"""Who could ever take a contact: per queue key (channel + required skills), the logged-in
agents qualified for it, whatever their state or load.

A waiting contact whose key no logged-in agent qualifies for is *unservable*: it would wait
forever behind a queue that looks normal. Agents change their profile (log in or out, new
skills or capacity) rarely compared with offers, so the counts are kept per key and touched
only on those changes, O(keys) each; deciding an offer never looks here. Keys are registered
when a contact of them first waits (one scan of the agents, as ``AgentIndex`` does).

To say *which* requirement nobody meets, the best proficiency per skill among logged-in agents
is kept in sorted lists, so an explanation costs O(skills x log agents)."""

from __future__ import annotations

from collections.abc import Iterable

from sortedcontainers import SortedList

from streams.routing.domain.model import (
    AgentRecord,
    AgentStatus,
    Channel,
    PoolConfig,
    QueueKey,
    qualifies,
)

Profile = tuple[bool, tuple[tuple[str, int], ...], tuple[tuple[Channel, int], ...]]


def _profile(agent: AgentRecord, config: PoolConfig) -> Profile:
    logged_in = agent.status is not AgentStatus.LOGGED_OUT
    capacity = tuple((ch, agent.capacity_on(ch, config)) for ch in Channel)
    return logged_in, tuple(sorted(agent.skills.items())), capacity


def serves(agent: AgentRecord, key: QueueKey, config: PoolConfig) -> bool:
    """Whether a logged-in agent could ever take a contact of the key: the channel in its
    capacity and every required skill at its minimum."""
    return (
        agent.status is not AgentStatus.LOGGED_OUT
        and agent.capacity_on(key.channel, config) > 0
        and qualifies(agent.skills, key.skills)
    )


class Eligibility:
    """Per registered queue key, how many logged-in agents could take it."""

    def __init__(self, config: PoolConfig) -> None:
        self._config = config
        self._counts: dict[QueueKey, int] = {}
        self._profiles: dict[str, Profile] = {}
        self._serving: dict[str, frozenset[QueueKey]] = {}
        self._levels: dict[str, SortedList[tuple[int, str]]] = {}
        self._on_channel: dict[Channel, int] = dict.fromkeys(Channel, 0)

    def register(self, key: QueueKey, agents: Iterable[AgentRecord]) -> None:
        if key in self._counts:
            return
        count = 0
        for agent in agents:
            if serves(agent, key, self._config):
                count += 1
                self._serving[agent.agent_id] = self._serving.get(agent.agent_id, frozenset()) | {
                    key
                }
        self._counts[key] = count

    def servable(self, key: QueueKey) -> bool:
        return self._counts.get(key, 0) > 0

    def servers(self, key: QueueKey) -> int:
        return self._counts.get(key, 0)

    def update(self, agent: AgentRecord) -> list[QueueKey]:
        """Account for a change of the agent's status, skills or capacity; returns the keys
        that became servable or unservable by it (sorted). A change of anything else (load,
        readiness between ready and not ready) costs one tuple comparison."""
        profile = _profile(agent, self._config)
        old_profile = self._profiles.get(agent.agent_id)
        if profile == old_profile:
            return []
        self._profiles[agent.agent_id] = profile
        self._index_levels(agent.agent_id, old_profile, profile)
        old = self._serving.get(agent.agent_id, frozenset())
        new = frozenset(key for key in self._counts if serves(agent, key, self._config))
        self._serving[agent.agent_id] = new
        flipped: list[QueueKey] = []
        for key in old - new:
            self._counts[key] -= 1
            if self._counts[key] == 0:
                flipped.append(key)
        for key in new - old:
            self._counts[key] += 1
            if self._counts[key] == 1:
                flipped.append(key)
        return sorted(flipped)

    def _index_levels(self, agent_id: str, old: Profile | None, new: Profile) -> None:
        for profile, sign in ((old, -1), (new, 1)):
            if profile is None or not profile[0]:
                continue
            for skill, level in profile[1]:
                levels = self._levels.setdefault(skill, SortedList())
                if sign > 0:
                    levels.add((level, agent_id))
                else:
                    levels.remove((level, agent_id))
            for channel, capacity in profile[2]:
                if capacity > 0:
                    self._on_channel[channel] += sign

    def unmet(self, key: QueueKey) -> tuple[str, str]:
        """What no logged-in agent meets for the key: a short label (bounded by the keys in
        use, for a metric) and a sentence."""
        if self._on_channel[key.channel] == 0:
            return (
                f"channel:{key.channel.value}",
                f"no logged-in agent takes {key.channel.value}",
            )
        missing: list[str] = []
        notes: list[str] = []
        for skill, level in key.skills:
            levels = self._levels.get(skill)
            best = levels[-1][0] if levels else 0
            if best < level:
                missing.append(f"{skill}>={level}")
                notes.append(f"{skill} {best}" if best else f"no {skill}")
        if missing:
            return (
                "+".join(missing),
                f"nobody logged in has {', '.join(missing)} (best: {', '.join(notes)})",
            )
        wanted = [f"{skill}>={level}" for skill, level in key.skills]
        return (
            "+".join(wanted) or f"channel:{key.channel.value}",
            f"no logged-in agent on {key.channel.value} has {', '.join(wanted)} together",
        )
