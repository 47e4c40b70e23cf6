"""The control plane's routing inputs: an admin's changes and a supervisor's actions. They reach
routing like every other input, ordered, recognised by event id and stored with the pool's
state; ``actor_id`` names who made them (the audit in PostgreSQL has the before and after).

An agent's profile and a forced state travel on the ``agent-events`` topic (key: agent id), in
order with the agent's own events; a pool's policy and the actions on a contact go to the
``routing`` topic directly (key: pool id), since they belong to no agent or contact stream."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.agents import AgentEvent
from schemas.base import PoolRecord
from schemas.contacts import Channel

ACTOR = Field(default="", max_length=200)
REASON = Field(default="", max_length=200)


class AgentProfileChanged(AgentEvent):
    """An admin changed the agent's skills (name → proficiency 1–10) or per-channel capacity
    (channel → concurrent contacts; a channel left out takes the pool's default)."""

    TYPE: ClassVar[str] = "agent_profile_changed"

    skills: dict[str, int] = Field(default_factory=dict)
    capacity: dict[str, int] = Field(default_factory=dict)
    actor_id: str = ACTOR


class ForcedState(StrEnum):
    NOT_READY = "not_ready"
    LOGGED_OUT = "logged_out"


class ForceAgentState(AgentEvent):
    """Command: a supervisor puts the agent not ready or logs them out; pending offers are
    withdrawn, work in hand stays."""

    TYPE: ClassVar[str] = "force_agent_state"

    state: ForcedState
    reason: str = REASON
    actor_id: str = ACTOR


class ServiceLevel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_class: str = Field(min_length=1, max_length=50)
    threshold_seconds: float = Field(gt=0, le=86_400)
    target: float = Field(ge=0, le=1)


class OpeningHours(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    opens: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    closes: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class PoolPolicyChanged(PoolRecord):
    """An admin set the pool's policy; a field left null keeps the workers' default."""

    TYPE: ClassVar[str] = "pool_policy_changed"

    class_weights: dict[str, float] | None = None
    aging_per_second: float | None = Field(default=None, ge=0)
    service_levels: list[ServiceLevel] = Field(default_factory=list)
    business_hours: list[OpeningHours] = Field(default_factory=list)
    time_zone: str = Field(default="UTC", min_length=1, max_length=64)
    actor_id: str = ACTOR


class MoveContact(PoolRecord):
    """Command: a supervisor moves a waiting contact of ``pool_id`` to ``to_pool_id``, where
    it keeps its original arrival time."""

    TYPE: ClassVar[str] = "move_contact"

    contact_id: str = Field(min_length=1, max_length=200)
    to_pool_id: str = Field(min_length=1, max_length=100)
    reason: str = REASON
    actor_id: str = ACTOR


class OfferContact(PoolRecord):
    """Command: a supervisor offers a waiting contact to a named agent."""

    TYPE: ClassVar[str] = "offer_contact"

    contact_id: str = Field(min_length=1, max_length=200)
    agent_id: str = Field(min_length=1, max_length=200)
    reason: str = REASON
    actor_id: str = ACTOR


class EndContact(PoolRecord):
    """Command: a supervisor ends a contact that will never finish (any state)."""

    TYPE: ClassVar[str] = "end_contact"

    contact_id: str = Field(min_length=1, max_length=200)
    reason: str = REASON
    actor_id: str = ACTOR


class AdmitContact(PoolRecord):
    """Command, produced by routing when a contact is moved: the contact joins ``pool_id``
    with its original arrival time, its offer count and its callback."""

    TYPE: ClassVar[str] = "admit_contact"

    contact_id: str = Field(min_length=1, max_length=200)
    from_pool_id: str = Field(min_length=1, max_length=100)
    channel: Channel
    customer_class: str = Field(min_length=1, max_length=50)
    skills: dict[str, int] = Field(default_factory=dict)
    arrived_at: AwareDatetime
    attempts: int = Field(default=0, ge=0)
    callback: bool = False
    last_agent_id: str | None = None
    last_agent_at: AwareDatetime | None = None
