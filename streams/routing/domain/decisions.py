"""Outputs of the router. Each has a stable ``kind`` and a JSON-friendly ``to_dict()``
(``kind`` plus its fields; times are epoch seconds)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum
from typing import Any, ClassVar


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


class _Plain:
    KIND: ClassVar[str] = ""

    @property
    def kind(self) -> str:
        return self.KIND

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": self.KIND} if self.KIND else {}
        for name in _field_names(type(self)):
            body[name] = _plain(getattr(self, name))
        return body


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


@dataclass(frozen=True)
class ContactCandidate(_Plain):
    """A waiting contact an available agent could take (agent-side choice)."""

    contact_id: str
    customer_class: str
    waited_seconds: float
    priority: float
    declined: bool = False


@dataclass(frozen=True)
class AgentCandidate(_Plain):
    """An agent a contact could go to (contact-side choice); ``proficiency`` lists the
    agent's levels on the contact's required skills."""

    agent_id: str
    load: int
    idle_seconds: float
    proficiency: tuple[tuple[str, int], ...] = ()
    declined: bool = False
    last_agent: bool = False

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["proficiency"] = dict(self.proficiency)
        return body


@dataclass(frozen=True)
class Explanation(_Plain):
    """Why an offer went where it went. ``side`` is "agent" when an available agent picked
    the best contact, "contact" when a contact picked the best agent. ``candidates`` is
    bounded (a handful, best first)."""

    trigger: str
    side: str
    candidates: tuple[ContactCandidate | AgentCandidate, ...]
    winner: str
    reason: str


@dataclass(frozen=True)
class ContactQueued(_Plain):
    """A contact joined the queue; ``predicted_wait_seconds`` is what it can expect to wait,
    counting only the agents qualified for it (None when unbounded: no ready agent serves
    it, and always when ``no_agent_available``: no logged-in agent could take it).
    ``rough_estimate``: the handle time behind it is the channel's prior or a mean of a few
    completions."""

    KIND: ClassVar[str] = "contact_queued"
    contact_id: str
    customer_class: str
    channel: str
    priority: float
    arrived_at: float
    predicted_wait_seconds: float | None = None
    no_agent_available: bool = False
    rough_estimate: bool = False


@dataclass(frozen=True)
class ContactMarkedUnservable(_Plain):
    """No logged-in agent could take the waiting contact: ``requirement`` is what nobody
    meets (a short label: ``lang_fr>=1``, ``channel:chat``), ``reason`` says it in words.
    It keeps its place and waits until an eligible agent logs in (or relaxation widens it)."""

    KIND: ClassVar[str] = "contact_unservable"
    contact_id: str
    channel: str
    requirement: str
    reason: str


@dataclass(frozen=True)
class ContactBecameServable(_Plain):
    """A contact marked unservable can be taken again: ``reason`` says what changed."""

    KIND: ClassVar[str] = "contact_servable"
    contact_id: str
    reason: str


@dataclass(frozen=True)
class ContactRelaxed(_Plain):
    """A waiting contact's requirement widened by relaxation step ``step`` (1 = the first)
    after ``waited_seconds``: from ``requirement_before`` to ``requirement_after`` (queue key
    labels); ``reason`` is the step in words. It keeps its place."""

    KIND: ClassVar[str] = "contact_relaxed"
    contact_id: str
    step: int
    waited_seconds: float
    requirement_before: str
    requirement_after: str
    reason: str


@dataclass(frozen=True)
class OfferMade(_Plain):
    """Offer ``offer_id`` (``f"{contact_id}:{attempt}"``) valid until ``expires_at``;
    ``callback`` means the agent dials the customer out."""

    KIND: ClassVar[str] = "offer_made"
    offer_id: str
    contact_id: str
    agent_id: str
    attempt: int
    expires_at: float
    callback: bool
    explanation: Explanation


@dataclass(frozen=True)
class ContactAssigned(_Plain):
    KIND: ClassVar[str] = "contact_assigned"
    contact_id: str
    agent_id: str
    offer_id: str
    waited_seconds: float


@dataclass(frozen=True)
class OfferDeclined(_Plain):
    """The agent rejected the offer (``OfferRejected`` is that input); the contact goes back."""

    KIND: ClassVar[str] = "offer_declined"
    offer_id: str
    contact_id: str
    agent_id: str
    reason: str


@dataclass(frozen=True)
class OfferExpired(_Plain):
    KIND: ClassVar[str] = "offer_expired"
    offer_id: str
    contact_id: str
    agent_id: str


@dataclass(frozen=True)
class OfferRescinded(_Plain):
    KIND: ClassVar[str] = "offer_rescinded"
    offer_id: str
    contact_id: str
    agent_id: str
    reason: str


@dataclass(frozen=True)
class ContactRequeued(_Plain):
    """The contact waits again, at its original place (``arrived_at`` unchanged)."""

    KIND: ClassVar[str] = "contact_requeued"
    contact_id: str
    reason: str
    arrived_at: float


@dataclass(frozen=True)
class ContactRemoved(_Plain):
    KIND: ClassVar[str] = "contact_removed"
    contact_id: str
    reason: str
    waited_seconds: float


@dataclass(frozen=True)
class ContactMoved(_Plain):
    """A waiting contact left this pool for ``to_pool_id``, where it arrives with the same
    arrival time, offer count and callback (the worker routes that arrival there)."""

    KIND: ClassVar[str] = "contact_moved"
    contact_id: str
    to_pool_id: str
    reason: str
    channel: str
    customer_class: str
    skills: tuple[tuple[str, int], ...]
    arrived_at: float
    attempts: int
    callback: bool
    last_agent_id: str | None = None
    last_agent_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["skills"] = dict(self.skills)
        return body


@dataclass(frozen=True)
class ContactInputForwarded(_Plain):
    """The customer's side of a contact this pool moved away (``input_type``: contact_ended,
    contact_abandoned, callback_requested) goes on to the pool it was moved to."""

    KIND: ClassVar[str] = "contact_input_forwarded"
    contact_id: str
    to_pool_id: str
    input_type: str


@dataclass(frozen=True)
class ContactReleased(_Plain):
    KIND: ClassVar[str] = "contact_released"
    contact_id: str
    agent_id: str
    disposition: str
    handle_seconds: float


@dataclass(frozen=True)
class AgentStateChanged(_Plain):
    KIND: ClassVar[str] = "agent_state_changed"
    agent_id: str
    state: str
    reason: str


@dataclass(frozen=True)
class EventIgnored(_Plain):
    """An input that changed nothing: duplicate, stale, unknown subject, or not applicable."""

    KIND: ClassVar[str] = "event_ignored"
    reason: str
    subject_id: str


Decision = (
    ContactQueued
    | ContactMarkedUnservable
    | ContactBecameServable
    | ContactRelaxed
    | OfferMade
    | ContactAssigned
    | OfferDeclined
    | OfferExpired
    | OfferRescinded
    | ContactRequeued
    | ContactRemoved
    | ContactMoved
    | ContactInputForwarded
    | ContactReleased
    | AgentStateChanged
    | EventIgnored
)
