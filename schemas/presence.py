"""Signals of the moment in a conversation, ephemeral: they travel on the ``typing`` topic
only (short retention), never into the interaction log or routing."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from schemas.base import Record


class Typist(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"


class Typing(Record):
    """Someone in a conversation is typing: the customer on the chat page (``who`` customer)
    or the agent on the desk (``who`` agent, with ``agent_id``). Producers send at most one
    every few seconds per conversation; readers show it for a few seconds."""

    TYPE: ClassVar[str] = "typing"

    contact_id: str = Field(min_length=1, max_length=200)
    who: Typist
    agent_id: str | None = Field(default=None, max_length=200)
