"""Every topic, its partitions, cleanup policy and key, in one table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    key: str
    compacted: bool = False
    retention_ms: int | None = None  # the broker's default when None
    doc: str = ""
    producers: tuple[str, ...] = ()  # who writes it (for the AsyncAPI document)
    consumers: tuple[str, ...] = ()  # who reads it, and as which consumer

    def full_name(self, prefix: str = "") -> str:
        return f"{prefix}{self.name}"


CONTACTS = TopicSpec(
    "contacts",
    4,
    "contact_id",
    doc="contact events from the gateways and the desk",
    producers=(
        "gateway (voice, SMS, e-mail, chat: arrivals, messages, ends, abandons, callbacks)",
        "desk (agents' replies)",
        "worker, notices (the call task of a notice)",
    ),
    consumers=(
        "worker: partition-by-pool (to routing), interaction-log",
        "gateway: chat delivery (every gateway, no group)",
        "desk: threads (every desk, no group)",
    ),
)
AGENT_EVENTS = TopicSpec(
    "agent-events",
    4,
    "agent_id",
    doc="agent events from the desk",
    producers=(
        "desk (log in and out, ready, offers accepted or rejected, completions)",
        "desk admin and supervisor (agent profile changes, forced states)",
    ),
    consumers=(
        "worker: partition-by-pool (to routing), interaction-log",
        "gateway: chat ends (every gateway, no group)",
    ),
)
ROUTING = TopicSpec(
    "routing",
    8,
    "pool_id",
    doc="contact and agent events repartitioned by pool; clock ticks",
    producers=(
        "worker: partition-by-pool; the routing clock (one tick per partition)",
        "desk admin and supervisor (pool policies, moves, offers to a named agent, ends)",
        "worker: route (a moved contact admitted to its new pool)",
    ),
    consumers=("worker: route (one owner per pool)", "replay (contactcenter replay)"),
)
OFFERS = TopicSpec(
    "offers",
    4,
    "agent_id",
    doc="offers for the agent desk",
    producers=("worker: route (the decisions an agent sees)",),
    consumers=("desk: offers (every desk, no group; each agent's stream)",),
)
INTERACTIONS = TopicSpec(
    "interactions",
    4,
    "contact_id",
    doc="every routing decision",
    producers=("worker: route",),
    consumers=("worker: interaction-log (PostgreSQL)", "replay and the crash harness"),
)
SHIPMENTS = TopicSpec(
    "shipments",
    4,
    "shipment_id",
    doc="shipment events from order systems",
    producers=("order and shipping systems",),
    consumers=("worker: notices (delay rules)",),
)
NOTICES = TopicSpec(
    "notices",
    4,
    "customer_id",
    doc="outbound notices to send",
    producers=("worker: notices (requested, deferred)", "notifier (sent, failed)"),
    consumers=("audit and CRM systems (the notifier works from PostgreSQL)",),
)
GUIDE_EVENTS = TopicSpec(
    "guide-events",
    4,
    "contact_id",
    doc="guide steps run on the desk, for audit",
    producers=("desk (guided steps)",),
    consumers=("audit systems",),
)
DEAD_LETTER = TopicSpec(
    "dead-letter",
    1,
    "source_topic",
    doc="inputs that failed, with reason",
    producers=("every consumer of the worker (the input it could not process)",),
    consumers=("worker: interaction-log (dead_letters table)", "operators"),
)

TYPING = TopicSpec(
    "typing",
    4,
    "contact_id",
    retention_ms=60_000,
    doc="who is typing in a conversation right now (ephemeral: kept a minute, never logged)",
    producers=("gateway (a chat customer typing)", "desk (an agent typing a reply)"),
    consumers=(
        "gateway: chat typing (every gateway, no group)",
        "desk: typing (every desk, no group)",
    ),
)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    CONTACTS,
    AGENT_EVENTS,
    ROUTING,
    OFFERS,
    INTERACTIONS,
    SHIPMENTS,
    NOTICES,
    GUIDE_EVENTS,
    DEAD_LETTER,
    TYPING,
)
