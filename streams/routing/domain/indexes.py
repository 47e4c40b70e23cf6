"""Sorted indexes of one pool: waiting contacts per queue key, available agents per queue
key, and pending offers by expiry. Every update is O(log n) (times the small number of
queue keys for agents)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sortedcontainers import SortedList

from streams.routing.domain.model import (
    AgentRecord,
    AgentStatus,
    Channel,
    ContactRecord,
    PoolConfig,
    QueueKey,
    qualifies,
)

ContactRank = tuple[float, float, str]
AgentRank = tuple[int, float, str]


class QueueIndex:
    """Waiting contacts, per queue key in priority order (see ``ContactRecord.rank``), and
    per (channel, class) by arrival for the queue view."""

    def __init__(self, aging: float) -> None:
        self._aging = aging
        self._queues: dict[QueueKey, SortedList[ContactRank]] = {}
        self._groups: dict[tuple[Channel, str], SortedList[tuple[float, str]]] = {}

    def add(self, contact: ContactRecord) -> None:
        queue = self._queues.setdefault(contact.key, SortedList())
        queue.add(contact.rank(self._aging))
        group = self._groups.setdefault((contact.channel, contact.effective_class), SortedList())
        group.add((contact.arrived_at, contact.contact_id))

    def remove(self, contact: ContactRecord) -> None:
        self._queues[contact.key].remove(contact.rank(self._aging))
        self._groups[(contact.channel, contact.effective_class)].remove(
            (contact.arrived_at, contact.contact_id)
        )

    def has_key(self, key: QueueKey) -> bool:
        return key in self._queues

    def waiting(self, key: QueueKey) -> bool:
        """Whether any contact of the key waits."""
        return bool(self._queues.get(key))

    def active_keys(self) -> Iterator[QueueKey]:
        """Queue keys with at least one waiting contact."""
        return (key for key, queue in self._queues.items() if queue)

    def ranks(self, key: QueueKey) -> Iterator[ContactRank]:
        """The contacts of one key, best first (lazy: take only what you need)."""
        queue = self._queues.get(key)
        return iter(queue) if queue is not None else iter(())

    def counts(self, channel: Channel) -> Iterator[tuple[str, int]]:
        """(class, waiting count) of the channel's groups, unsorted; O(groups)."""
        for (group_channel, cls), group in self._groups.items():
            if group_channel is channel and group:
                yield cls, len(group)

    def groups(self) -> Iterator[tuple[Channel, str, int, float]]:
        """(channel, class, waiting count, earliest arrival), sorted, non-empty groups."""
        for (channel, cls), group in sorted(self._groups.items()):
            if group:
                yield channel, cls, len(group), group[0][0]


def agent_rank(agent: AgentRecord, key: QueueKey, config: PoolConfig) -> AgentRank | None:
    """Where the agent sorts among agents available for the key (least load on the channel,
    longest idle, then id), or None if it cannot take a contact of that key now."""
    if agent.status is not AgentStatus.READY:
        return None
    if not agent.has_capacity(key.channel, config) or not qualifies(agent.skills, key.skills):
        return None
    return (agent.load.get(key.channel, 0), agent.idle_since, agent.agent_id)


class AgentIndex:
    """Agents that can take a contact of a queue key right now, per key, best first.

    A key is registered the first time a contact of it is seen; registering scans the agents
    once. Afterwards an agent change costs O(keys * log agents), with the capacity check made
    once per channel and each agent's qualifying keys kept until its skills change."""

    def __init__(self, config: PoolConfig) -> None:
        self._config = config
        self._by_key: dict[QueueKey, SortedList[AgentRank]] = {}
        self._keys_by_channel: dict[Channel, list[QueueKey]] = {}
        self._entries: dict[str, dict[QueueKey, AgentRank]] = {}
        # agent id → (the skills mapping it was computed from, the registered keys it qualifies for)
        self._qualified: dict[str, tuple[object, frozenset[QueueKey]]] = {}

    def register(self, key: QueueKey, agents: Iterable[AgentRecord]) -> None:
        if key in self._by_key:
            return
        ranks: SortedList[AgentRank] = SortedList()
        self._by_key[key] = ranks
        self._keys_by_channel.setdefault(key.channel, []).append(key)
        self._qualified.clear()
        for agent in agents:
            rank = agent_rank(agent, key, self._config)
            if rank is not None:
                ranks.add(rank)
                self._entries.setdefault(agent.agent_id, {})[key] = rank

    def keys(self) -> list[QueueKey]:
        """Every key registered so far, in the order they were registered."""
        return list(self._by_key)

    def qualified_keys(self, agent: AgentRecord) -> frozenset[QueueKey]:
        """The registered keys whose skills the agent has (whatever its status or load)."""
        cached = self._qualified.get(agent.agent_id)
        if cached is not None and cached[0] is agent.skills:
            return cached[1]
        keys = frozenset(key for key in self._by_key if qualifies(agent.skills, key.skills))
        self._qualified[agent.agent_id] = (agent.skills, keys)
        return keys

    def update(self, agent: AgentRecord) -> None:
        """Re-place the agent after any change of status, work, skills or idle time."""
        entries = self._entries.setdefault(agent.agent_id, {})
        qualified = self.qualified_keys(agent)
        ready = agent.status is AgentStatus.READY
        for channel, keys in self._keys_by_channel.items():
            rank: AgentRank | None = None
            if ready and agent.has_capacity(channel, self._config):
                rank = (agent.load.get(channel, 0), agent.idle_since, agent.agent_id)
            for key in keys:
                new = rank if key in qualified else None
                old = entries.get(key)
                if old == new:
                    continue
                ranks = self._by_key[key]
                if old is not None:
                    ranks.remove(old)
                    del entries[key]
                if new is not None:
                    ranks.add(new)
                    entries[key] = new
        if not entries:
            del self._entries[agent.agent_id]

    def available(self, agent_id: str, key: QueueKey) -> bool:
        return key in self._entries.get(agent_id, {})

    def ranks(self, key: QueueKey) -> Iterator[AgentRank]:
        ranks = self._by_key.get(key)
        return iter(ranks) if ranks is not None else iter(())


class ExpiryIndex:
    """Pending offers by (expires_at, offer_id)."""

    def __init__(self) -> None:
        self._offers: SortedList[tuple[float, str]] = SortedList()

    def add(self, expires_at: float, offer_id: str) -> None:
        self._offers.add((expires_at, offer_id))

    def remove(self, expires_at: float, offer_id: str) -> None:
        self._offers.remove((expires_at, offer_id))

    def pop_due(self, now: float) -> str | None:
        """The earliest offer due at ``now`` (expires_at <= now), removed; None if none."""
        if self._offers and self._offers[0][0] <= now:
            return self._offers.pop(0)[1]
        return None
