"""Records ↔ the routing domain: input records to domain inputs, decisions to output records."""

from __future__ import annotations

import hashlib
import json
import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime

from schemas import agents as agent_records
from schemas import contacts as contact_records
from schemas import control
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
    "contact_moved": out.ContactMoved,
    "contact_input_forwarded": out.ContactInputForwarded,
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
                to_agent_id=record.to_agent_id,
            )
    return control_to_domain(record)


def control_to_domain(record: Record) -> domain.RoutingInput | None:
    """The routing input of an admin's change or a supervisor's action (``schemas.control``)."""
    match record:
        case control.AgentProfileChanged():
            return domain.AgentProfileChanged(
                agent_id=record.agent_id,
                skills=dict(record.skills),
                capacity=_channel_capacity(record.capacity) or {},
            )
        case control.ForceAgentState():
            reason = "supervisor" + (f": {record.reason}" if record.reason else "")
            if record.state is control.ForcedState.LOGGED_OUT:
                return domain.AgentLoggedOut(agent_id=record.agent_id)
            return domain.AgentNotReady(agent_id=record.agent_id, reason=reason)
        case control.PoolPolicyChanged():
            return domain.PoolPolicyChanged(pool_policy(record))
        case control.MoveContact():
            return domain.MoveContact(record.contact_id, record.to_pool_id, record.reason)
        case control.OfferContact():
            return domain.OfferContact(record.contact_id, record.agent_id, record.reason)
        case control.EndContact():
            return domain.EndContact(record.contact_id, record.reason)
        case control.AdmitContact():
            return domain.ContactArrived(
                contact_id=record.contact_id,
                channel=domain.Channel(record.channel.value),
                customer_class=record.customer_class,
                skills=dict(record.skills),
                arrived_at=record.arrived_at.timestamp(),
                last_agent_id=record.last_agent_id,
                last_agent_at=as_timestamp(record.last_agent_at),
                attempts=record.attempts,
                callback=record.callback,
            )
    return None


def pool_policy(record: control.PoolPolicyChanged) -> domain.PoolPolicy:
    return domain.PoolPolicy(
        class_weights=record.class_weights,
        aging_per_second=record.aging_per_second,
        service_levels=tuple(
            domain.ServiceLevelTarget(t.customer_class, t.threshold_seconds, t.target)
            for t in record.service_levels
        ),
        business_hours=tuple(
            domain.OpeningHours(h.weekday, h.opens, h.closes) for h in record.business_hours
        ),
        time_zone=record.time_zone,
    )


def admission(
    moved: domain.ContactMoved, *, pool_id: str, cause_id: str, index: int, now: float
) -> control.AdmitContact:
    """The arrival in the pool a contact was moved to; its id is the move output's own, with
    the admission's type, so a replayed move admits the same record."""
    return control.AdmitContact(
        event_id=output_event_id(cause_id, pool_id, index, control.AdmitContact.TYPE),
        occurred_at=datetime.fromtimestamp(now, UTC),
        pool_id=moved.to_pool_id,
        contact_id=moved.contact_id,
        from_pool_id=pool_id,
        channel=contact_records.Channel(moved.channel),
        customer_class=moved.customer_class,
        skills=dict(moved.skills),
        arrived_at=datetime.fromtimestamp(moved.arrived_at, UTC),
        attempts=moved.attempts,
        callback=moved.callback,
        last_agent_id=moved.last_agent_id,
        last_agent_at=(
            None
            if moved.last_agent_at is None
            else datetime.fromtimestamp(moved.last_agent_at, UTC)
        ),
    )


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
        control.AgentProfileChanged.TYPE,
        control.ForceAgentState.TYPE,
        control.PoolPolicyChanged.TYPE,
        control.MoveContact.TYPE,
        control.OfferContact.TYPE,
        control.EndContact.TYPE,
        control.AdmitContact.TYPE,
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
        name
        for name, info in record_type.model_fields.items()
        if info.annotation is AwareDatetime or AwareDatetime in typing.get_args(info.annotation)
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
        if body.get(name) is not None:
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


FORWARDED: dict[str, type[contact_records.ContactEvent]] = {
    contact_records.ContactEnded.TYPE: contact_records.ContactEnded,
    contact_records.ContactAbandoned.TYPE: contact_records.ContactAbandoned,
    contact_records.CallbackRequested.TYPE: contact_records.CallbackRequested,
}


def forwarded_input(
    forward: domain.ContactInputForwarded, *, pool_id: str, cause_id: str, index: int, now: float
) -> contact_records.ContactEvent:
    """The input sent on to the pool a contact was moved to; its id is derived like an
    output's (with the input's type), so a replay sends the same record."""
    record_type = FORWARDED[forward.input_type]
    return record_type(
        event_id=output_event_id(cause_id, pool_id, index, record_type.TYPE),
        occurred_at=datetime.fromtimestamp(now, UTC),
        pool_id=forward.to_pool_id,
        contact_id=forward.contact_id,
    )


def event_time(record: Record) -> float:
    return record.occurred_at.timestamp()


def pool_of(record: Record) -> str | None:
    return record.pool_id if isinstance(record, PoolRecord) else None
