"""What routing decides, on the interactions topic (key: contact or agent id); offers also go to
the offers topic (key: agent id). ``cause_event_id`` names the input that led to the decision;
``event_id`` is deterministic (cause id + position), so a replayed input yields the same ids."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import AwareDatetime, Field

from schemas.base import PoolRecord, Record


class RoutingOutput(PoolRecord):
    cause_event_id: str


class ContactQueued(RoutingOutput):
    """A contact joined its pool's queue. ``predicted_wait_seconds`` is routing's estimate of
    its wait when it joined, counting only agents qualified for it: null when unbounded (no
    ready agent serves it), when ``no_agent_available`` (no logged-in agent could take it:
    "no agent available", never a number) and in records written before the estimate
    existed. ``rough_estimate``: the handle time behind it is the channel's prior or a mean
    of a few completions (the pool has little history)."""

    TYPE: ClassVar[str] = "contact_queued"

    contact_id: str
    customer_class: str
    channel: str
    priority: float
    arrived_at: AwareDatetime
    predicted_wait_seconds: float | None = Field(default=None, ge=0)
    no_agent_available: bool = False
    rough_estimate: bool = False


class ContactMarkedUnservable(RoutingOutput):
    """No logged-in agent could take the waiting contact: ``requirement`` names what nobody
    meets (``lang_fr>=1``, ``channel:chat``, or ``a>=1+b>=2`` when each is met by someone
    but never together), ``reason`` says it in words. The contact keeps its place."""

    TYPE: ClassVar[str] = "contact_marked_unservable"

    contact_id: str
    channel: str
    requirement: str
    reason: str


class ContactBecameServable(RoutingOutput):
    """A contact marked unservable can be taken again (an eligible agent logged in, or its
    requirement was widened); ``reason`` says which."""

    TYPE: ClassVar[str] = "contact_became_servable"

    contact_id: str
    reason: str


class ContactRequirementRelaxed(RoutingOutput):
    """A waiting contact's requirement widened by the pool's relaxation step ``step`` (1 = the
    first) after ``waited_seconds``: from ``requirement_before`` to ``requirement_after``
    (``chat|billing>=4,lang_fr>=1`` → ``chat|billing>=1,lang_fr>=1``); ``reason`` is the step
    in words. The contact keeps its place."""

    TYPE: ClassVar[str] = "contact_requirement_relaxed"

    contact_id: str
    step: int = Field(ge=1)
    waited_seconds: float
    requirement_before: str
    requirement_after: str
    reason: str


class OfferMade(RoutingOutput):
    """A contact offered to one agent until ``expires_at``; ``offer_id`` is contact id + attempt."""

    TYPE: ClassVar[str] = "offer_made"

    offer_id: str
    contact_id: str
    agent_id: str
    attempt: int
    expires_at: AwareDatetime
    callback: bool = False
    explanation: dict[str, Any] = Field(default_factory=dict)


class ContactAssigned(RoutingOutput):
    TYPE: ClassVar[str] = "contact_assigned"

    contact_id: str
    agent_id: str
    offer_id: str
    waited_seconds: float


class OfferDeclined(RoutingOutput):
    """The agent rejected the offer; the contact goes back with its original arrival time."""

    TYPE: ClassVar[str] = "offer_declined"

    offer_id: str
    contact_id: str
    agent_id: str
    reason: str = ""


class OfferExpired(RoutingOutput):
    TYPE: ClassVar[str] = "offer_expired"

    offer_id: str
    contact_id: str
    agent_id: str


class OfferRescinded(RoutingOutput):
    TYPE: ClassVar[str] = "offer_rescinded"

    offer_id: str
    contact_id: str
    agent_id: str
    reason: str


class ContactRequeued(RoutingOutput):
    TYPE: ClassVar[str] = "contact_requeued"

    contact_id: str
    reason: str
    arrived_at: AwareDatetime


class ContactRemoved(RoutingOutput):
    TYPE: ClassVar[str] = "contact_removed"

    contact_id: str
    reason: str
    waited_seconds: float


class ContactMoved(RoutingOutput):
    """A supervisor moved the waiting contact to ``to_pool_id``; it joins that pool with the
    same ``arrived_at`` (routing sends it there as ``admit_contact``)."""

    TYPE: ClassVar[str] = "contact_moved"

    contact_id: str
    to_pool_id: str
    reason: str = ""
    channel: str
    customer_class: str
    skills: dict[str, int] = Field(default_factory=dict)
    arrived_at: AwareDatetime
    attempts: int = 0
    callback: bool = False
    last_agent_id: str | None = None
    last_agent_at: AwareDatetime | None = None


class ContactInputForwarded(RoutingOutput):
    """The customer's side of a contact this pool moved away (an end, an abandonment, a
    callback request: ``input_type``) is sent on to ``to_pool_id``, which holds the contact."""

    TYPE: ClassVar[str] = "contact_input_forwarded"

    contact_id: str
    to_pool_id: str
    input_type: str


class ContactReleased(RoutingOutput):
    TYPE: ClassVar[str] = "contact_released"

    contact_id: str
    agent_id: str
    disposition: str
    handle_seconds: float


class AgentStateChanged(RoutingOutput):
    TYPE: ClassVar[str] = "agent_state_changed"

    agent_id: str
    state: str
    reason: str


class RoutingInputIgnored(RoutingOutput):
    """An input that changed nothing (duplicate, unknown contact or agent, late accept)."""

    TYPE: ClassVar[str] = "routing_input_ignored"

    reason: str
    subject_id: str


class AdvanceRoutingClock(Record):
    """Command: let the pools of this partition act on time (offer timeouts). Produced into
    every routing partition; replaying one is harmless."""

    TYPE: ClassVar[str] = "advance_routing_clock"

    partition: int = Field(ge=0)


class DeadLettered(Record):
    """An input that could not be processed, with the reason and the original bytes: the key
    and the payload in base64, each cut to a bounded length (``key_truncated``,
    ``payload_truncated``); ``payload_size`` and ``payload_sha256`` describe the whole payload
    (absent in dead letters written before they existed)."""

    TYPE: ClassVar[str] = "dead_lettered"

    reason: str
    source_topic: str
    source_partition: int | None = None
    source_offset: int | None = None
    key_b64: str | None = None
    key_truncated: bool = False
    payload_b64: str
    payload_truncated: bool = False
    payload_size: int | None = Field(default=None, ge=0)
    payload_sha256: str | None = Field(default=None, pattern="^[0-9a-f]{64}$")


# The routing outputs an agent's desk sees: they go to the offers topic (keyed by agent) as well
# as to interactions.
AGENT_FACING = frozenset(
    {
        "offer_made",
        "offer_expired",
        "offer_rescinded",
        "offer_declined",
        "contact_assigned",
        "contact_released",
        "agent_state_changed",
    }
)
