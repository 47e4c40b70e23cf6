"""Outbound notices, on the notices topic (key: customer id).

``notice_id`` is the idempotency key: shipment + delay episode + level + channel. A VIP with a
severe delay also gets an outbound call task: a ``schemas.contacts.ContactArrived`` (channel
voice, class "vip", skill "outbound") on the contacts topic, so priority routing places it.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from schemas.base import Record


class NoticeRecord(Record):
    notice_id: str = Field(min_length=1, max_length=300)
    customer_id: str = Field(min_length=1, max_length=200)
    channel: str = Field(pattern="^(sms|email)$")


class NoticeRequested(NoticeRecord):
    """A notice decided for a delay episode; it is sent at or after ``not_before``."""

    TYPE: ClassVar[str] = "notice_requested"

    kind: str = "shipment_delay"
    shipment_id: str
    order_id: str
    episode: int = Field(ge=1)
    level: int = Field(ge=1)
    delay_hours: float | None = None
    reason: str
    compensation: str | None = None
    subject: str
    body_text: str
    not_before: AwareDatetime
    cause_event_id: str


class NoticeDeferred(NoticeRecord):
    """Quiet hours or the per-customer rate limit moved the notice to ``not_before``."""

    TYPE: ClassVar[str] = "notice_deferred"

    not_before: AwareDatetime
    reason: str


class NoticeSent(NoticeRecord):
    TYPE: ClassVar[str] = "notice_sent"

    provider_id: str
    attempts: int = Field(ge=1)


class NoticeFailed(NoticeRecord):
    """Given up: a permanent error (e.g. Twilio 21610, 21211, SMTP 5xx) or retries exhausted."""

    TYPE: ClassVar[str] = "notice_failed"

    error_code: str
    error: str
    attempts: int = Field(ge=0)
