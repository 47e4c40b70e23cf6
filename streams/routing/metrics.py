"""Routing's Prometheus series: queues and agents per pool owned here, offers by outcome."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from streams.platform import metrics
from streams.routing import domain

OFFER_OUTCOMES = {
    "offer_made": "made",
    "contact_assigned": "accepted",
    "offer_declined": "rejected",
    "offer_expired": "expired",
    "offer_rescinded": "rescinded",
}

_QueueLabels = tuple[str, str, str]  # pool, class, channel
_AgentLabels = tuple[str, str]
_UnservableLabels = tuple[str, str, str]  # pool, channel, requirement


class RoutingGauges:
    """Gauges of the pools a process owns. Series of a partition this process lost are
    removed, so that two workers never both report one pool."""

    def __init__(self) -> None:
        self._queues: dict[int, set[_QueueLabels]] = {}
        self._agents: dict[int, set[_AgentLabels]] = {}
        self._predicted: dict[int, set[_QueueLabels]] = {}
        self._able: dict[int, set[_AgentLabels]] = {}
        self._unservable: dict[int, set[_UnservableLabels]] = {}

    def update(self, partition: int, routers: Mapping[str, domain.Router]) -> None:
        queues: set[_QueueLabels] = set()
        agents: set[_AgentLabels] = set()
        predicted: set[_QueueLabels] = set()
        able: set[_AgentLabels] = set()
        unservable: set[_UnservableLabels] = set()
        for pool_id, router in routers.items():
            for outcome in OFFER_OUTCOMES.values():  # from 0 once the pool is known
                metrics.OFFERS.labels(pool=pool_id, outcome=outcome)
            metrics.ROUTING_REDELIVERED_INPUTS.labels(pool=pool_id)
            for stat in router.queue_view():
                labels = (pool_id, stat.customer_class, stat.channel.value)
                metrics.QUEUE_DEPTH.labels(*labels).set(stat.waiting)
                metrics.QUEUE_LONGEST_WAIT.labels(*labels).set(stat.longest_wait_seconds)
                queues.add(labels)
            for state, count in router.agent_states().items():
                metrics.AGENTS.labels(pool_id, state).set(count)
                agents.add((pool_id, state))
            for channel, count in router.agents_able().items():
                metrics.AGENTS_ABLE.labels(pool_id, channel).set(count)
                able.add((pool_id, channel))
            for (channel, requirement), count in router.unservable_view().items():
                metrics.UNSERVABLE.labels(pool_id, channel, requirement).set(count)
                unservable.add((pool_id, channel, requirement))
            for cls, per_channel in router.predicted_waits().items():
                for channel, seconds in per_channel.items():
                    labels = (pool_id, cls, channel)
                    value = math.inf if seconds is None else seconds
                    metrics.PREDICTED_WAIT.labels(*labels).set(value)
                    predicted.add(labels)
        for labels in self._predicted.get(partition, set()) - predicted:
            metrics.PREDICTED_WAIT.remove(*labels)
        for labels in self._queues.get(partition, set()) - queues:
            metrics.QUEUE_DEPTH.labels(*labels).set(0)
            metrics.QUEUE_LONGEST_WAIT.labels(*labels).set(0)
            queues.add(labels)
        for able_labels in self._able.get(partition, set()) - able:
            metrics.AGENTS_ABLE.remove(*able_labels)
        # a requirement met again reads 0 rather than vanishing, so an alert on it resolves
        for labels3 in self._unservable.get(partition, set()) - unservable:
            metrics.UNSERVABLE.labels(*labels3).set(0)
            unservable.add(labels3)
        self._queues[partition] = queues
        self._agents[partition] = agents
        self._predicted[partition] = predicted
        self._able[partition] = able
        self._unservable[partition] = unservable

    def forget(self, partition: int) -> None:
        for labels in self._queues.pop(partition, set()):
            metrics.QUEUE_DEPTH.remove(*labels)
            metrics.QUEUE_LONGEST_WAIT.remove(*labels)
        for agent_labels in self._agents.pop(partition, set()):
            metrics.AGENTS.remove(*agent_labels)
        for labels in self._predicted.pop(partition, set()):
            metrics.PREDICTED_WAIT.remove(*labels)
        for agent_labels in self._able.pop(partition, set()):
            metrics.AGENTS_ABLE.remove(*agent_labels)
        for labels3 in self._unservable.pop(partition, set()):
            metrics.UNSERVABLE.remove(*labels3)


def count_offers(pool_id: str, decisions: Iterable[domain.Decision]) -> None:
    for decision in decisions:
        outcome = OFFER_OUTCOMES.get(decision.kind)
        if outcome is not None:
            metrics.OFFERS.labels(pool=pool_id, outcome=outcome).inc()
