"""Records → rows of the interaction log: pure, no I/O. Each record says what it changes in
``contacts`` (a patch merged order-insensitively), ``routing_decisions`` and
``agent_state_history``; ``interaction_events`` keeps every record as it was."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas import contacts, routing
from schemas.base import Record


@dataclass(frozen=True)
class LogEntry:
    """One consumed record and where it came from (topic without the deployment prefix)."""

    record: Record
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class ContactPatch:
    """What one record says about a contact; merged into ``contacts`` order-insensitively."""

    contact_id: str
    pool_id: str
    channel: str | None = None
    queue_class: str | None = None  # the class routing queued it with (wins)
    arrival_class: str | None = None  # the class the gateway gave (used when nothing else)
    customer_key: str | None = None
    subject: str | None = None
    arrived_at: datetime | None = None
    queued_at: datetime | None = None
    first_offered_at: datetime | None = None
    answered_at: datetime | None = None
    agent_id: str | None = None
    completed_at: datetime | None = None
    abandoned_at: datetime | None = None
    ended_at: datetime | None = None
    removed_reason: str | None = None
    wait_seconds: float | None = None
    handle_seconds: float | None = None
    disposition: str | None = None
    offers: int = 0
    rejections: int = 0
    expirations: int = 0
    requeues: int = 0
    callback_requested: bool = False
    rescinds: int = 0

    def args(self) -> tuple[Any, ...]:
        return (
            self.contact_id,
            self.pool_id,
            self.channel,
            self.queue_class,
            self.arrival_class,
            self.customer_key,
            self.subject,
            self.arrived_at,
            self.queued_at,
            self.first_offered_at,
            self.answered_at,
            self.agent_id,
            self.completed_at,
            self.abandoned_at,
            self.ended_at,
            self.removed_reason,
            self.wait_seconds,
            self.handle_seconds,
            self.disposition,
            self.offers,
            self.rejections,
            self.expirations,
            self.requeues,
            self.callback_requested,
            self.rescinds,
        )


def contact_patch(record: Record) -> ContactPatch | None:
    """The contact lifecycle change a record carries, or None."""
    at = record.occurred_at
    match record:
        case contacts.ContactArrived():
            customer = record.customer
            key = customer.customer_id or customer.phone or customer.email or customer.chat_id
            return ContactPatch(
                record.contact_id,
                record.pool_id,
                channel=str(record.channel),
                arrival_class=record.customer_class,
                customer_key=key,
                subject=record.subject,
                arrived_at=record.arrived_at or at,
            )
        case contacts.ContactEnded() | contacts.ContactAbandoned():
            return ContactPatch(record.contact_id, record.pool_id, ended_at=at)
        case contacts.CallbackRequested():
            return ContactPatch(record.contact_id, record.pool_id, callback_requested=True)
        case routing.ContactQueued():
            return ContactPatch(
                record.contact_id,
                record.pool_id,
                channel=record.channel,
                queue_class=record.customer_class,
                arrived_at=record.arrived_at,
                queued_at=at,
            )
        case routing.OfferMade():
            return ContactPatch(record.contact_id, record.pool_id, first_offered_at=at, offers=1)
        case routing.ContactAssigned():
            return ContactPatch(
                record.contact_id,
                record.pool_id,
                answered_at=at,
                agent_id=record.agent_id,
                wait_seconds=record.waited_seconds,
            )
        case routing.OfferDeclined():
            return ContactPatch(record.contact_id, record.pool_id, rejections=1)
        case routing.OfferExpired():
            return ContactPatch(record.contact_id, record.pool_id, expirations=1)
        case routing.ContactRequeued():
            return ContactPatch(record.contact_id, record.pool_id, requeues=1)
        case routing.OfferRescinded():
            return ContactPatch(record.contact_id, record.pool_id, rescinds=1)
        case routing.ContactRemoved():
            abandoned = record.reason == "abandoned"
            return ContactPatch(
                record.contact_id,
                record.pool_id,
                removed_reason=record.reason,
                abandoned_at=at if abandoned else None,
                wait_seconds=record.waited_seconds,
            )
        case routing.ContactReleased():
            return ContactPatch(
                record.contact_id,
                record.pool_id,
                completed_at=at,
                agent_id=record.agent_id,
                handle_seconds=record.handle_seconds,
                disposition=record.disposition,
            )
    return None


_FIRST = (
    "channel",
    "arrival_class",
    "customer_key",
    "subject",
    "agent_id",
    "removed_reason",
    "wait_seconds",
    "handle_seconds",
    "disposition",
)
_EARLIEST = (
    "arrived_at",
    "queued_at",
    "first_offered_at",
    "answered_at",
    "completed_at",
    "abandoned_at",
    "ended_at",
)
_COUNTS = ("offers", "rejections", "expirations", "requeues", "rescinds")


def merge_patches(patches: Iterable[ContactPatch]) -> list[ContactPatch]:
    """One patch per contact with the effect of applying the given ones in order (first value
    kept, earliest time, counters added, the last class routing queued it with)."""
    groups: dict[str, list[ContactPatch]] = {}
    for patch in patches:
        groups.setdefault(patch.contact_id, []).append(patch)
    return [group[0] if len(group) == 1 else _merged(group) for group in groups.values()]


def _merged(group: list[ContactPatch]) -> ContactPatch:
    # one dict updated in place, one patch built: a batch holds a few records per contact
    fields = dict(vars(group[0]))
    for patch in group[1:]:
        values = vars(patch)
        for name in _FIRST:
            if fields[name] is None:
                fields[name] = values[name]
        for name in _EARLIEST:
            new = values[name]
            if new is not None and (fields[name] is None or new < fields[name]):
                fields[name] = new
        for name in _COUNTS:
            fields[name] += values[name]
        fields["queue_class"] = values["queue_class"] or fields["queue_class"]
        fields["callback_requested"] = fields["callback_requested"] or values["callback_requested"]
    return ContactPatch(**fields)


def decision_row(record: Record) -> tuple[Any, ...] | None:
    if not isinstance(record, routing.OfferMade):
        return None
    return (
        record.event_id,
        record.offer_id,
        record.pool_id,
        record.contact_id,
        record.agent_id,
        record.attempt,
        record.occurred_at,
        record.expires_at,
        json.dumps(record.explanation, default=str),
    )


_OUTCOMES: dict[type[Record], str] = {
    routing.ContactAssigned: "accepted",
    routing.OfferDeclined: "declined",
    routing.OfferExpired: "expired",
    routing.OfferRescinded: "rescinded",
}


def decision_outcome(record: Record) -> tuple[str, str, datetime] | None:
    """(offer id, outcome, when) for a record that closes an offer."""
    outcome = _OUTCOMES.get(type(record))
    if outcome is None:
        return None
    return (getattr(record, "offer_id"), outcome, record.occurred_at)  # noqa: B009


def agent_state_row(record: Record) -> tuple[Any, ...] | None:
    if not isinstance(record, routing.AgentStateChanged):
        return None
    return (
        record.event_id,
        record.agent_id,
        record.pool_id,
        record.state,
        record.reason,
        record.occurred_at,
    )


def event_row(entry: LogEntry) -> tuple[Any, ...]:
    record = entry.record
    # the record's JSON with its type first (pydantic's serializer; a record always has fields)
    body = f'{{"type":{json.dumps(record.TYPE)},{record.model_dump_json()[1:]}'
    contact_id = getattr(record, "contact_id", None)
    agent_id = getattr(record, "agent_id", None)
    return (
        record.event_id,
        record.TYPE,
        entry.topic,
        entry.partition,
        entry.offset,
        getattr(record, "pool_id", None),
        contact_id,
        agent_id,
        record.occurred_at,
        body,
    )


def unique_entries(entries: Iterable[LogEntry]) -> list[LogEntry]:
    """The first entry of each event id, in order (a batch may hold a record twice)."""
    seen: set[str] = set()
    out: list[LogEntry] = []
    for entry in entries:
        if entry.record.event_id not in seen:
            seen.add(entry.record.event_id)
            out.append(entry)
    return out
