"""Records ↔ the routing domain: input records to domain inputs, decisions to output records."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime

from schemas import agents as agent_records
from schemas import contacts as contact_records
from schemas import routing as out
from schemas.base import EVENT_ID_MAX_LENGTH, SCHEMA_VERSION, PoolRecord, Record
from schemas.contacts import as_timestamp
from streams.routing import domain

OUTPUT_TYPES: dict[str, type[out.RoutingOutput]] = {
    "contact_queued": out.ContactQueued,
    "contact_unservable": out.ContactMarkedUnservable,
    "contact_servable": out.ContactBecameServable,
    "contact_relaxed": out.ContactRequirementRelaxed,
    "offer_made": out.OfferMade,
    "contact_assigned": out.ContactAssigned,
    "offer_declined": out.OfferDeclined,
    "offer_expired": out.OfferExpired,
    "offer_rescinded": out.OfferRescinded,
    "contact_requeued": out.ContactRequeued,
    "contact_removed": out.ContactRemoved,
    "contact_released": out.ContactReleased,
    "agent_state_changed": out.AgentStateChanged,
    "event_ignored": out.RoutingInputIgnored,
}


def _channel_capacity(capacity: dict[str, int] | None) -> dict[domain.Channel, int] | None:
    if capacity is None:
        return None
    return {domain.Channel(name): value for name, value in capacity.items()}


def to_domain(record: Record) -> domain.RoutingInput | None:
    """The routing input a record stands for; None for records routing does not act on."""
    match record:
        case contact_records.ContactArrived():
            return domain.ContactArrived(
                contact_id=record.contact_id,
                channel=domain.Channel(record.channel.value),
                customer_class=record.customer_class,
                skills=dict(record.skills),
                arrived_at=as_timestamp(record.arrived_at or record.occurred_at),
                last_agent_id=record.last_agent_id,
                last_agent_at=as_timestamp(record.last_agent_at),
            )
        case contact_records.ContactAbandoned():
            return domain.ContactAbandoned(contact_id=record.contact_id)
        case contact_records.ContactEnded():
            return domain.ContactEnded(contact_id=record.contact_id)
        case contact_records.CallbackRequested():
            return domain.CallbackRequested(contact_id=record.contact_id)
        case contact_records.ChatLeftAsMessage():
            return domain.MessageLeft(contact_id=record.contact_id)
        case agent_records.AgentLoggedIn():
            return domain.AgentLoggedIn(
                agent_id=record.agent_id,
                skills=dict(record.skills),
                capacity=_channel_capacity(record.capacity),
            )
        case agent_records.AgentLoggedOut():
            return domain.AgentLoggedOut(agent_id=record.agent_id)
        case agent_records.AgentReady():
            return domain.AgentReady(agent_id=record.agent_id)
        case agent_records.AgentNotReady():
            return domain.AgentNotReady(agent_id=record.agent_id, reason=record.reason)
        case agent_records.OfferAccepted():
            return domain.OfferAccepted(offer_id=record.offer_id, agent_id=record.agent_id)
        case agent_records.OfferRejected():
            return domain.OfferRejected(
                offer_id=record.offer_id, agent_id=record.agent_id, reason=record.reason
            )
        case agent_records.ContactCompleted():
            return domain.ContactCompleted(
                contact_id=record.contact_id,
                agent_id=record.agent_id,
                disposition=record.disposition,
            )
        case agent_records.ContactTransferred():
            return domain.ContactTransferred(
                contact_id=record.contact_id,
                agent_id=record.agent_id,
                skills=dict(record.skills),
                reason=record.reason,
            )
    return None


ROUTED_TYPES = frozenset(
    {
        contact_records.ContactArrived.TYPE,
        contact_records.ContactAbandoned.TYPE,
        contact_records.ContactEnded.TYPE,
        contact_records.CallbackRequested.TYPE,
        contact_records.ChatLeftAsMessage.TYPE,
        agent_records.AgentLoggedIn.TYPE,
        agent_records.AgentLoggedOut.TYPE,
        agent_records.AgentReady.TYPE,
        agent_records.AgentNotReady.TYPE,
        agent_records.OfferAccepted.TYPE,
        agent_records.OfferRejected.TYPE,
        agent_records.ContactCompleted.TYPE,
        agent_records.ContactTransferred.TYPE,
    }
)


def to_output(
    decision: domain.Decision, *, pool_id: str, cause: Record, index: int, now: float
) -> out.RoutingOutput:
    """The output record of a decision; its event id is derived from the cause, the pool, the
    position among the cause's outputs and the output's type, so that replaying the cause
    reproduces it exactly and no two different outputs ever share an id."""
    record_type = OUTPUT_TYPES[decision.kind]
    fields: dict[str, Any] = dict(decision.to_dict())
    fields.pop("kind", None)
    return record_type.model_validate(
        {
            **fields,
            "pool_id": pool_id,
            "cause_event_id": cause.event_id,
            "event_id": output_event_id(cause.event_id, pool_id, index, record_type.TYPE),
            "occurred_at": datetime.fromtimestamp(now, UTC),
        }
    )


@dataclass(frozen=True)
class EncodedOutput:
    """An output record as it goes on the wire, with what its topics are keyed by."""

    type_name: str
    value: bytes
    subject: bytes
    agent_id: str | None


def _datetime_fields(record_type: type[out.RoutingOutput]) -> frozenset[str]:
    return frozenset(
        name for name, info in record_type.model_fields.items() if info.annotation is AwareDatetime
    )


_DATETIME_FIELDS = {kind: _datetime_fields(t) for kind, t in OUTPUT_TYPES.items()}


def encode_output(
    decision: domain.Decision, *, pool_id: str, cause_id: str, index: int, now: float
) -> EncodedOutput:
    """The bytes of ``to_output(...).to_bytes()`` without building the model: outputs are
    made by routing itself, so the hot path skips their validation. The same JSON (keys
    sorted, times as ISO 8601 in UTC), which ``decode`` reads back to the same record."""
    kind = decision.kind
    record_type = OUTPUT_TYPES[kind]
    body: dict[str, Any] = decision.to_dict()
    del body["kind"]
    for name in _DATETIME_FIELDS[kind]:
        if name in body:
            body[name] = _iso(body[name])
    body["pool_id"] = pool_id
    body["cause_event_id"] = cause_id
    body["event_id"] = output_event_id(cause_id, pool_id, index, record_type.TYPE)
    body["occurred_at"] = _iso(now)
    body["schema_version"] = SCHEMA_VERSION
    body["type"] = record_type.TYPE
    subject = body.get("contact_id") or body.get("agent_id") or body.get("subject_id") or ""
    return EncodedOutput(
        type_name=record_type.TYPE,
        value=json.dumps(body, separators=(",", ":"), sort_keys=True).encode(),
        subject=str(subject).encode(),
        agent_id=body.get("agent_id"),
    )


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def output_event_id(cause_id: str, pool_id: str, index: int, type_name: str) -> str:
    """``cause:pool:index:type``, or a digest of it where that would be too long."""
    readable = f"{cause_id}:{pool_id}:{index}:{type_name}"
    if len(readable) <= EVENT_ID_MAX_LENGTH:
        return readable
    return "sha256:" + hashlib.sha256(readable.encode()).hexdigest()


def event_time(record: Record) -> float:
    return record.occurred_at.timestamp()


def pool_of(record: Record) -> str | None:
    return record.pool_id if isinstance(record, PoolRecord) else None
