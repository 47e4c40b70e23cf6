"""Agent events, published by the agent desk on the agent-events topic (key: agent id)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

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
    """The agent hands an assigned contact on, keeping its original arrival time: routing
    frees the agent and queues the contact for ``skills`` (an escalation, a transfer to a
    queue). With ``to_agent_id`` (a transfer to a named agent of the pool) ``skills`` may be
    empty (the contact keeps its own): routing offers it to that agent when they are ready
    with room for it, else it waits in the queue. ``reason`` is the note for the next agent."""

    TYPE: ClassVar[str] = "contact_transferred"

    contact_id: str = Field(min_length=1)
    skills: dict[str, int]
    reason: str = Field(default="", max_length=200)
    to_agent_id: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _names_a_target(self) -> ContactTransferred:
        if not self.skills and self.to_agent_id is None:
            raise ValueError("a transfer names the skills of its queue or an agent")
        return self
