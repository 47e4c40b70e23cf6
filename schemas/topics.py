"""Every topic, its partitions, cleanup policy and key, in one table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    key: str
    compacted: bool = False
    doc: str = ""

    def full_name(self, prefix: str = "") -> str:
        return f"{prefix}{self.name}"


CONTACTS = TopicSpec("contacts", 4, "contact_id", doc="contact events from the gateways")
AGENT_EVENTS = TopicSpec("agent-events", 4, "agent_id", doc="agent events from the desk")
ROUTING = TopicSpec(
    "routing", 8, "pool_id", doc="contact and agent events repartitioned by pool; clock ticks"
)
OFFERS = TopicSpec("offers", 4, "agent_id", doc="offers for the agent desk")
INTERACTIONS = TopicSpec("interactions", 4, "contact_id", doc="every routing decision")
SHIPMENTS = TopicSpec("shipments", 4, "shipment_id", doc="shipment events from order systems")
NOTICES = TopicSpec("notices", 4, "customer_id", doc="outbound notices to send")
GUIDE_EVENTS = TopicSpec(
    "guide-events", 4, "contact_id", doc="guide steps run on the desk, for audit"
)
DEAD_LETTER = TopicSpec("dead-letter", 1, "source_topic", doc="inputs that failed, with reason")

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
)
