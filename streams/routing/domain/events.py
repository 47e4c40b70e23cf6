"""Inputs of the router. Each validates its own shape on construction (ValueError)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from streams.routing.domain.model import Channel
from streams.routing.domain.pool_policy import PoolPolicy


def _check_skills(skills: Mapping[str, int], low: int, high: int | None, what: str) -> None:
    for name, level in skills.items():
        if not name:
            raise ValueError(f"{what}: empty skill name")
        if level < low or (high is not None and level > high):
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            raise ValueError(f"{what}: skill {name!r} level {level} not in {bound}")


@dataclass(frozen=True)
class ContactArrived:
    """A contact enters the pool. ``skills`` maps skill → minimum proficiency (>= 1).
    ``arrived_at`` None means now; a callback re-entry passes its original arrival. A contact
    moved in from another pool keeps its arrival, its offer count (``attempts``: offer ids
    stay unique) and its callback."""

    KIND: ClassVar[str] = "contact_arrived"
    contact_id: str
    channel: Channel
    customer_class: str
    skills: Mapping[str, int]
    arrived_at: float | None = None
    last_agent_id: str | None = None
    last_agent_at: float | None = None
    attempts: int = 0
    callback: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "channel", Channel(self.channel))
        _check_skills(self.skills, 1, None, "contact")
        if self.attempts < 0:
            raise ValueError("attempts must be >= 0")


@dataclass(frozen=True)
class ContactAbandoned:
    """The customer left before being served (after assignment it counts as ended)."""

    KIND: ClassVar[str] = "contact_abandoned"
    contact_id: str


@dataclass(frozen=True)
class ContactEnded:
    """The customer's side ended: abandonment if not yet assigned, wrap-up if assigned."""

    KIND: ClassVar[str] = "contact_ended"
    contact_id: str


@dataclass(frozen=True)
class CallbackRequested:
    """A waiting voice caller chose to be called back: the contact keeps its place."""

    KIND: ClassVar[str] = "callback_requested"
    contact_id: str


@dataclass(frozen=True)
class MessageLeft:
    """A waiting chat customer left a message: the contact waits on as an e-mail (an
    asynchronous contact), keeping its original arrival time."""

    KIND: ClassVar[str] = "message_left"
    contact_id: str


@dataclass(frozen=True)
class AgentLoggedIn:
    """An agent joins (not ready) or updates its skills (1-10) and capacity overrides."""

    KIND: ClassVar[str] = "agent_logged_in"
    agent_id: str
    skills: Mapping[str, int]
    capacity: Mapping[Channel, int] | None = None

    def __post_init__(self) -> None:
        _check_skills(self.skills, 1, 10, "agent")
        if self.capacity is not None:
            if any(n < 0 for n in self.capacity.values()):
                raise ValueError("agent capacity must be >= 0")
            object.__setattr__(
                self, "capacity", {Channel(ch): n for ch, n in self.capacity.items()}
            )


@dataclass(frozen=True)
class AgentLoggedOut:
    KIND: ClassVar[str] = "agent_logged_out"
    agent_id: str


@dataclass(frozen=True)
class AgentReady:
    KIND: ClassVar[str] = "agent_ready"
    agent_id: str


@dataclass(frozen=True)
class AgentNotReady:
    KIND: ClassVar[str] = "agent_not_ready"
    agent_id: str
    reason: str = ""


@dataclass(frozen=True)
class OfferAccepted:
    KIND: ClassVar[str] = "offer_accepted"
    offer_id: str
    agent_id: str


@dataclass(frozen=True)
class OfferRejected:
    KIND: ClassVar[str] = "offer_rejected"
    offer_id: str
    agent_id: str
    reason: str = ""


@dataclass(frozen=True)
class ContactCompleted:
    """The agent finished the contact (after wrap-up, or before the customer ended)."""

    KIND: ClassVar[str] = "contact_completed"
    contact_id: str
    agent_id: str
    disposition: str = ""


@dataclass(frozen=True)
class ContactTransferred:
    """The agent hands an assigned contact on, keeping its original arrival time: the agent
    is freed and the contact waits for ``skills`` (an escalation to another queue). With
    ``to_agent_id`` (a transfer to a named agent) ``skills`` may be empty (the contact keeps
    its own); the contact is offered to that agent at once when they are ready with room
    for it, else it waits in the queue like any transfer."""

    KIND: ClassVar[str] = "contact_transferred"
    contact_id: str
    agent_id: str
    skills: Mapping[str, int]
    reason: str = ""
    to_agent_id: str | None = None

    def __post_init__(self) -> None:
        if not self.skills and self.to_agent_id is None:
            raise ValueError("a transfer names the skills of its queue or an agent")
        if self.to_agent_id is not None and not self.to_agent_id:
            raise ValueError("a transfer to an agent names the agent")
        _check_skills(self.skills, 1, None, "transfer")


@dataclass(frozen=True)
class Tick:
    """Time passes: offers due at ``now`` expire."""

    KIND: ClassVar[str] = "tick"


# ---------------------------------------------------------------- the control plane
# An admin's change or a supervisor's action: routing inputs like any other (ordered,
# recognised by event id, stored with the pool's state).


@dataclass(frozen=True)
class AgentProfileChanged:
    """An admin changed the agent's skills (1-10) or per-channel capacity; takes effect at
    once for a logged-in agent (a logged-out one brings its profile when it logs in)."""

    KIND: ClassVar[str] = "agent_profile_changed"
    agent_id: str
    skills: Mapping[str, int]
    capacity: Mapping[Channel, int]

    def __post_init__(self) -> None:
        _check_skills(self.skills, 1, 10, "agent")
        if any(n < 0 for n in self.capacity.values()):
            raise ValueError("agent capacity must be >= 0")
        object.__setattr__(self, "capacity", {Channel(ch): n for ch, n in self.capacity.items()})


@dataclass(frozen=True)
class PoolPolicyChanged:
    """An admin set the pool's policy (class weights, aging, targets, hours): waiting
    contacts are ranked by it from this input on."""

    KIND: ClassVar[str] = "pool_policy_changed"
    policy: PoolPolicy


@dataclass(frozen=True)
class MoveContact:
    """A supervisor moves a waiting contact to another pool, keeping its arrival time."""

    KIND: ClassVar[str] = "move_contact"
    contact_id: str
    to_pool_id: str
    reason: str = ""

    def __post_init__(self) -> None:
        if not self.to_pool_id:
            raise ValueError("a move names the pool it goes to")


@dataclass(frozen=True)
class OfferContact:
    """A supervisor offers a waiting contact to a named agent (who needs room on the
    channel); a rejected or expired offer puts it back at its original place."""

    KIND: ClassVar[str] = "offer_contact"
    contact_id: str
    agent_id: str
    reason: str = ""


@dataclass(frozen=True)
class EndContact:
    """A supervisor ends a contact that will never finish, whatever its state; an agent
    holding it is freed."""

    KIND: ClassVar[str] = "end_contact"
    contact_id: str
    reason: str = ""


RoutingInput = (
    ContactArrived
    | ContactAbandoned
    | ContactEnded
    | CallbackRequested
    | MessageLeft
    | AgentLoggedIn
    | AgentLoggedOut
    | AgentReady
    | AgentNotReady
    | OfferAccepted
    | OfferRejected
    | ContactCompleted
    | ContactTransferred
    | Tick
    | AgentProfileChanged
    | PoolPolicyChanged
    | MoveContact
    | OfferContact
    | EndContact
)
