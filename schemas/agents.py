"""Agent events, published by the agent desk on the agent-events topic (key: agent id)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from schemas.base import PoolRecord


class AgentEvent(PoolRecord):
    agent_id: str = Field(min_length=1, max_length=200)


class AgentLoggedIn(AgentEvent):
    """An agent joins the pool with skills (name → proficiency 1–10) and optional
    per-channel capacity overrides."""

    TYPE: ClassVar[str] = "agent_logged_in"

    skills: dict[str, int] = Field(default_factory=dict)
    capacity: dict[str, int] | None = None
    name: str | None = None


class AgentLoggedOut(AgentEvent):
    TYPE: ClassVar[str] = "agent_logged_out"


class AgentReady(AgentEvent):
    TYPE: ClassVar[str] = "agent_ready"


class AgentNotReady(AgentEvent):
    TYPE: ClassVar[str] = "agent_not_ready"

    reason: str = "break"


class OfferAccepted(AgentEvent):
    TYPE: ClassVar[str] = "offer_accepted"

    offer_id: str = Field(min_length=1)


class OfferRejected(AgentEvent):
    TYPE: ClassVar[str] = "offer_rejected"

    offer_id: str = Field(min_length=1)
    reason: str = ""


class ContactCompleted(AgentEvent):
    """The agent finished the contact, wrap-up included."""

    TYPE: ClassVar[str] = "contact_completed"

    contact_id: str = Field(min_length=1)
    disposition: str = ""


class ContactTransferred(AgentEvent):
    """The agent hands an assigned contact to another skill's queue (an escalation): routing
    frees the agent and queues the contact for ``skills`` at its original arrival time."""

    TYPE: ClassVar[str] = "contact_transferred"

    contact_id: str = Field(min_length=1)
    skills: dict[str, int] = Field(min_length=1)
    reason: str = Field(default="", max_length=200)
