"""JSON-friendly rows of contacts and agents, as the adapter stores them. Derived state
(indexes, agent work, effective class) is rebuilt from these on restore."""

from __future__ import annotations

from typing import Any

from streams.routing.domain.model import (
    AgentRecord,
    AgentStatus,
    Channel,
    ContactRecord,
    ContactStatus,
    PoolConfig,
)

Row = dict[str, Any]


def contact_row(contact: ContactRecord) -> Row:
    return {
        "contact_id": contact.contact_id,
        "channel": contact.channel.value,
        "customer_class": contact.customer_class,
        "skills": dict(sorted(contact.skills.items())),
        "arrived_at": contact.arrived_at,
        "last_agent_id": contact.last_agent_id,
        "last_agent_at": contact.last_agent_at,
        "status": contact.status.value,
        "callback": contact.callback,
        "attempts": contact.attempts,
        "declined": sorted(contact.declined),
        "offer_id": contact.offer_id,
        "agent_id": contact.agent_id,
        "offer_expires_at": contact.offer_expires_at,
        "assigned_at": contact.assigned_at,
        "unservable": contact.unservable,
        "required": None if contact.required is None else dict(sorted(contact.required.items())),
        "relaxed": contact.relaxed,
    }


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def contact_from_row(row: Row, config: PoolConfig) -> ContactRecord:
    customer_class = str(row["customer_class"])
    return ContactRecord(
        contact_id=str(row["contact_id"]),
        channel=Channel(row["channel"]),
        customer_class=customer_class,
        effective_class=config.effective_class(customer_class),
        weight=config.weight(customer_class),
        skills={str(k): int(v) for k, v in row["skills"].items()},
        arrived_at=float(row["arrived_at"]),
        last_agent_id=row.get("last_agent_id"),
        last_agent_at=_opt_float(row.get("last_agent_at")),
        status=ContactStatus(row["status"]),
        callback=bool(row.get("callback", False)),
        attempts=int(row.get("attempts", 0)),
        declined={str(a) for a in row.get("declined", ())},
        offer_id=row.get("offer_id"),
        agent_id=row.get("agent_id"),
        offer_expires_at=_opt_float(row.get("offer_expires_at")),
        assigned_at=_opt_float(row.get("assigned_at")),
        unservable=row.get("unservable"),
        required=None
        if row.get("required") is None
        else {str(k): int(v) for k, v in row["required"].items()},
        relaxed=int(row.get("relaxed", 0)),
    )


def agent_row(agent: AgentRecord) -> Row:
    return {
        "agent_id": agent.agent_id,
        "skills": dict(sorted(agent.skills.items())),
        "capacity": {ch.value: n for ch, n in sorted(agent.capacity.items())},
        "status": agent.status.value,
        "reason": agent.reason,
        "idle_since": agent.idle_since,
        "missed_offers": agent.missed_offers,
    }


def agent_from_row(row: Row) -> AgentRecord:
    return AgentRecord(
        agent_id=str(row["agent_id"]),
        skills={str(k): int(v) for k, v in row["skills"].items()},
        capacity={Channel(k): int(v) for k, v in (row.get("capacity") or {}).items()},
        status=AgentStatus(row["status"]),
        reason=str(row.get("reason", "")),
        idle_since=float(row["idle_since"]),
        missed_offers=int(row.get("missed_offers", 0)),
    )
