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


class RoutingGauges:
    """Gauges of the pools a process owns. Series of a partition this process lost are
    removed, so that two workers never both report one pool."""

    def __init__(self) -> None:
        self._queues: dict[int, set[_QueueLabels]] = {}
        self._agents: dict[int, set[_AgentLabels]] = {}
        self._predicted: dict[int, set[_QueueLabels]] = {}

    def update(self, partition: int, routers: Mapping[str, domain.Router]) -> None:
        queues: set[_QueueLabels] = set()
        agents: set[_AgentLabels] = set()
        predicted: set[_QueueLabels] = set()
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
        self._queues[partition] = queues
        self._agents[partition] = agents
        self._predicted[partition] = predicted

    def forget(self, partition: int) -> None:
        for labels in self._queues.pop(partition, set()):
            metrics.QUEUE_DEPTH.remove(*labels)
            metrics.QUEUE_LONGEST_WAIT.remove(*labels)
        for agent_labels in self._agents.pop(partition, set()):
            metrics.AGENTS.remove(*agent_labels)
        for labels in self._predicted.pop(partition, set()):
            metrics.PREDICTED_WAIT.remove(*labels)


def count_offers(pool_id: str, decisions: Iterable[domain.Decision]) -> None:
    for decision in decisions:
        outcome = OFFER_OUTCOMES.get(decision.kind)
        if outcome is not None:
            metrics.OFFERS.labels(pool=pool_id, outcome=outcome).inc()
