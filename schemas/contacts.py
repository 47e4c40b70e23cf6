"""Contact events, published by the gateways on the contacts topic (key: contact id)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.base import PoolRecord


class Channel(StrEnum):
    VOICE = "voice"
    SMS = "sms"
    EMAIL = "email"
    CHAT = "chat"


class CustomerRef(BaseModel):
    """Who the customer is, as far as the gateway knows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str | None = None
    phone: str | None = None
    email: str | None = None
    chat_id: str | None = None
    name: str | None = None


class ContactEvent(PoolRecord):
    contact_id: str = Field(min_length=1, max_length=200)


class ContactArrived(ContactEvent):
    """A new contact on a channel; routing queues it by ``customer_class`` and ``skills``
    (skill name → minimum proficiency 1–10)."""

    TYPE: ClassVar[str] = "contact_arrived"

    channel: Channel
    customer: CustomerRef = CustomerRef()
    customer_class: str = Field(default="standard", min_length=1, max_length=50)
    skills: dict[str, int] = Field(default_factory=dict)
    language: str | None = None
    subject: str | None = Field(default=None, max_length=1000)
    last_agent_id: str | None = None
    last_agent_at: AwareDatetime | None = None
    arrived_at: AwareDatetime | None = None


class ContactMessageReceived(ContactEvent):
    """A message from the customer on an open conversation (sms, email, chat)."""

    TYPE: ClassVar[str] = "contact_message_received"

    channel: Channel
    body: str = Field(max_length=100_000)
    message_id: str | None = None


class ContactMessageSent(ContactEvent):
    """A message from the agent to the customer on an open conversation (sms, email, chat);
    the gateway delivers chat messages to the customer's open chat."""

    TYPE: ClassVar[str] = "contact_message_sent"

    channel: Channel
    agent_id: str = Field(min_length=1, max_length=200)
    body: str = Field(max_length=100_000)
    message_id: str | None = None


class ContactEnded(ContactEvent):
    """The customer side ended (hung up, closed the chat)."""

    TYPE: ClassVar[str] = "contact_ended"

    reason: str = "completed"


class ContactAbandoned(ContactEvent):
    """The customer gave up while waiting."""

    TYPE: ClassVar[str] = "contact_abandoned"


class CallbackRequested(ContactEvent):
    """The caller asked to be called back; the contact keeps its place in the queue."""

    TYPE: ClassVar[str] = "callback_requested"

    callback_number: str | None = None


class ChatLeftAsMessage(ContactEvent):
    """A waiting chat customer left a message instead of waiting (no agent who could take the
    chat was available): the contact waits on as an e-mail, keeping its place in line, and
    is answered at ``reply_to``."""

    TYPE: ClassVar[str] = "chat_left_as_message"

    reply_to: str = Field(min_length=1, max_length=320)


def as_timestamp(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()
