"""Routing's live contacts and agents for readers outside routing (the agent desk, the chat's
place in line, the IVR's callback offer, ops), typed: they read the view
``routing_live_contacts`` (deploy/migrations/008, 009, 014), routing's agent rows and the
views ``routing_predicted_waits`` (012) and ``routing_requirement_serving`` (014) through this
module, so the JSON row format of routing's
state rows stays routing's own."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from streams.routing.domain.model import requirement_label

ACTIVE = ("offered", "assigned", "wrap_up")


@dataclass(frozen=True)
class LiveContact:
    pool_id: str
    contact_id: str
    status: str  # waiting, offered, assigned, wrap_up
    channel: str | None
    customer_class: str | None
    arrived_at: float | None
    agent_id: str | None
    offer_id: str | None
    attempts: int
    offer_expires_at: float | None
    assigned_at: float | None
    callback: bool
    explanation: dict[str, Any]  # the offer's, from the interaction log when it has it


async def agent_work(pool: asyncpg.Pool, pool_id: str, agent_id: str) -> list[LiveContact]:
    """The contacts offered or assigned to an agent (or in wrap-up), oldest change first."""
    rows = await pool.fetch(
        "SELECT c.pool_id, c.contact_id, c.status, c.channel, c.customer_class, c.arrived_at,"
        " c.agent_id, c.offer_id, c.attempts, c.offer_expires_at, c.assigned_at, c.callback,"
        " (SELECT d.explanation FROM routing_decisions d"
        "   WHERE d.offer_id = c.offer_id ORDER BY d.decided_at DESC LIMIT 1) AS explanation"
        " FROM routing_live_contacts c"
        " WHERE c.pool_id = $1 AND c.agent_id = $2 AND c.status = ANY($3::text[])"
        " AND c.offer_id IS NOT NULL"
        " ORDER BY c.updated_at, c.contact_id",
        pool_id,
        agent_id,
        list(ACTIVE),
    )
    return [LiveContact(**{**dict(row), "explanation": _json(row["explanation"])}) for row in rows]


async def contact_skills(pool: asyncpg.Pool, contact_id: str) -> dict[str, int] | None:
    """The skills a live contact waits for; None when routing holds no row of it (yet: an
    offer is published before the batch that made it is stored)."""
    row = await pool.fetchrow(
        "SELECT skills FROM routing_live_contacts WHERE contact_id = $1", contact_id
    )
    return None if row is None else {str(k): int(v) for k, v in _json(row["skills"]).items()}


@dataclass(frozen=True)
class WaitingContact:
    contact_id: str
    customer_class: str | None
    arrived_at: float | None
    skills: dict[str, int]  # the skills (and minimum levels) the contact needs
    channel: str | None = None
    unservable: str | None = None  # the requirement no logged-in agent meets, if so


async def waiting_contacts(pool: asyncpg.Pool, pool_id: str) -> list[WaitingContact]:
    rows = await pool.fetch(
        "SELECT contact_id, customer_class, arrived_at, skills, channel, unservable"
        " FROM routing_live_contacts"
        " WHERE pool_id = $1 AND status = 'waiting' ORDER BY arrived_at, contact_id",
        pool_id,
    )
    return [
        WaitingContact(
            contact_id=row["contact_id"],
            customer_class=row["customer_class"],
            arrived_at=row["arrived_at"],
            skills={str(k): int(v) for k, v in _json(row["skills"]).items()},
            channel=row["channel"],
            unservable=row["unservable"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class ContactStatus:
    status: str  # waiting, offered, assigned, wrap_up
    agent_id: str | None
    channel: str | None
    skills: dict[str, int]
    unservable: str | None  # while waiting: the requirement no logged-in agent meets


async def contact_status(pool: asyncpg.Pool, pool_id: str, contact_id: str) -> ContactStatus | None:
    """The contact's status and agent (None when routing holds no row for it)."""
    row = await pool.fetchrow(
        "SELECT status, agent_id, channel, skills, unservable FROM routing_live_contacts"
        " WHERE pool_id = $1 AND contact_id = $2",
        pool_id,
        contact_id,
    )
    if row is None:
        return None
    return ContactStatus(
        status=str(row["status"]),
        agent_id=row["agent_id"],
        channel=row["channel"],
        skills={str(k): int(v) for k, v in _json(row["skills"]).items()},
        unservable=row["unservable"],
    )


@dataclass(frozen=True)
class Serving:
    """Who could serve a requirement (deploy/migrations/014), as routing last stored it:
    ``logged_in`` agents qualified for it, the ``slots`` and ``free`` room of the ready ones,
    the ``handle_seconds`` the estimate assumes and whether that is ``rough`` (the channel's
    prior, or a mean of a few completions)."""

    logged_in: int
    slots: int
    free: int
    handle_seconds: float
    rough: bool


async def requirement_serving(
    pool: asyncpg.Pool, pool_id: str, channel: str, skills: Mapping[str, int]
) -> Serving | None:
    """None when routing stored nothing for the requirement (no contact of it waits, or the
    batch that queued the first one is not stored yet)."""
    row = await pool.fetchrow(
        "SELECT logged_in, slots, free, handle_seconds, rough FROM routing_requirement_serving"
        " WHERE pool_id = $1 AND requirement = $2",
        pool_id,
        requirement_label(channel, skills),
    )
    return None if row is None else Serving(**dict(row))


async def position_in_line(
    pool: asyncpg.Pool,
    pool_id: str,
    contact_id: str,
    class_weights: Mapping[str, float],
    aging_per_second: float,
) -> int | None:
    """1 + the waiting contacts routing serves first: those with a larger
    ``weight - aging x arrived_at`` (an unknown class ranks as the lowest weight); None when the
    contact is not waiting."""
    position = await pool.fetchval(
        "WITH line AS (SELECT contact_id, coalesce(($3::jsonb ->> customer_class)::float8, $4)"
        " - $5 * arrived_at AS rank FROM routing_live_contacts"
        " WHERE pool_id = $1 AND status = 'waiting')"
        " SELECT 1 + (SELECT count(*) FROM line o WHERE o.rank > me.rank)"
        " FROM line me WHERE me.contact_id = $2",
        pool_id,
        contact_id,
        json.dumps(dict(class_weights)),
        float(min(class_weights.values(), default=0.0)),
        float(aging_per_second),
    )
    return None if position is None else int(position)


@dataclass(frozen=True)
class LiveAgent:
    status: str  # ready, not_ready, logged_out
    reason: str
    since: datetime  # when routing's row of the agent last changed


async def agent_state(pool: asyncpg.Pool, pool_id: str, agent_id: str) -> LiveAgent | None:
    row = await pool.fetchrow(
        "SELECT status, state->>'reason' AS reason, updated_at FROM routing_agents"
        " WHERE pool_id = $1 AND agent_id = $2",
        pool_id,
        agent_id,
    )
    if row is None:
        return None
    return LiveAgent(status=row["status"], reason=row["reason"] or "", since=row["updated_at"])


async def ready_agents(pool: asyncpg.Pool, pool_id: str) -> int:
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM routing_agents WHERE pool_id = $1 AND status = 'ready'",
            pool_id,
        )
    )


async def agents_who_could_serve(
    pool: asyncpg.Pool, pool_id: str, channel: str, skills: Mapping[str, int]
) -> int:
    """Logged-in agents (any state) with every skill at its minimum and no capacity override
    of 0 on the channel: whether anyone could ever take such a contact, asked before routing
    has queued it (the IVR answers while the arrival is on its way)."""
    rows = await pool.fetch(
        "SELECT state->'skills' AS skills, state->'capacity' AS capacity FROM routing_agents"
        " WHERE pool_id = $1 AND status <> 'logged_out'",
        pool_id,
    )
    return sum(
        1
        for row in rows
        if all(int(_json(row["skills"]).get(s, 0)) >= level for s, level in skills.items())
        and int(_json(row["capacity"]).get(channel, 1)) > 0
    )


@dataclass(frozen=True)
class PredictedWait:
    """Routing's prediction for a contact arriving now (deploy/migrations/012): ``seconds``
    None means unbounded (no ready agent serves the channel); ``predicted_at`` is the pool's
    clock when it was made (routing stores it with every batch that changes the pool)."""

    seconds: float | None
    predicted_at: float

    def exceeds(self, threshold_seconds: float) -> bool:
        return self.seconds is None or self.seconds > threshold_seconds


async def predicted_wait(
    pool: asyncpg.Pool, pool_id: str, customer_class: str, channel: str
) -> PredictedWait | None:
    """None when routing has made no prediction for the pool, class and channel (a pool it
    never routed, a class it does not know)."""
    row = await pool.fetchrow(
        "SELECT predicted_wait_seconds, predicted_at FROM routing_predicted_waits"
        " WHERE pool_id = $1 AND customer_class = $2 AND channel = $3",
        pool_id,
        customer_class,
        channel,
    )
    return (
        None if row is None else PredictedWait(row["predicted_wait_seconds"], row["predicted_at"])
    )


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return dict(value or {})


# ---------------------------------------------------------------- the floor (supervisors)


@dataclass(frozen=True)
class FloorContact:
    """A live contact of a pool as the supervisor view shows it. ``unservable`` is routing's
    own flag when its live view has one (None: routing does not say)."""

    contact_id: str
    status: str
    channel: str | None
    customer_class: str | None
    arrived_at: float | None
    agent_id: str | None
    assigned_at: float | None
    skills: dict[str, int]
    unservable: bool | None


async def pool_contacts(pool: asyncpg.Pool, pool_id: str) -> list[FloorContact]:
    """Every live contact of the pool, oldest arrival first."""
    rows = await pool.fetch(
        "SELECT c.contact_id, c.status, c.channel, c.customer_class, c.arrived_at, c.agent_id,"
        " c.assigned_at, c.skills, to_jsonb(c) -> 'unservable' AS unservable"
        " FROM routing_live_contacts c WHERE c.pool_id = $1"
        " ORDER BY c.arrived_at, c.contact_id",
        pool_id,
    )
    return [
        FloorContact(
            contact_id=row["contact_id"],
            status=row["status"],
            channel=row["channel"],
            customer_class=row["customer_class"],
            arrived_at=row["arrived_at"],
            agent_id=row["agent_id"],
            assigned_at=row["assigned_at"],
            skills={str(k): int(v) for k, v in _json(row["skills"]).items()},
            unservable=_flag(row["unservable"]),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class FloorAgent:
    """An agent of a pool as routing holds it: state, skills and capacity overrides."""

    agent_id: str
    status: str
    reason: str
    updated_at: datetime
    skills: dict[str, int]
    capacity: dict[str, int]


async def pool_agents(pool: asyncpg.Pool, pool_id: str) -> list[FloorAgent]:
    rows = await pool.fetch(
        "SELECT agent_id, status, state->>'reason' AS reason, updated_at,"
        " coalesce(state->'skills', '{}'::jsonb) AS skills,"
        " coalesce(state->'capacity', '{}'::jsonb) AS capacity"
        " FROM routing_agents WHERE pool_id = $1 ORDER BY agent_id",
        pool_id,
    )
    return [
        FloorAgent(
            agent_id=row["agent_id"],
            status=row["status"],
            reason=row["reason"] or "",
            updated_at=row["updated_at"],
            skills={str(k): int(v) for k, v in _json(row["skills"]).items()},
            capacity={str(k): int(v) for k, v in _json(row["capacity"]).items()},
        )
        for row in rows
    ]


async def routed_pools(pool: asyncpg.Pool) -> list[str]:
    """The pools routing holds state for."""
    return [r["pool_id"] for r in await pool.fetch("SELECT pool_id FROM routing_pools")]


def _flag(value: Any) -> bool | None:
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, bool) else None
@dataclass(frozen=True)
class AgentWorkload:
    """An agent's status with the time it last changed (deploy/migrations/050, not the row's
    last write), the agent's own capacity per channel (set at login; the others are the
    pool's) and the load routing counts per channel (contacts offered, assigned or in wrap-up)."""

    status: str  # ready, not_ready, logged_out
    reason: str
    since: datetime
    capacity: dict[str, int]
    load: dict[str, int]


async def agent_workload(pool: asyncpg.Pool, pool_id: str, agent_id: str) -> AgentWorkload | None:
    row = await pool.fetchrow(
        "SELECT a.status, a.state->>'reason' AS reason, a.status_since,"
        " coalesce(a.state->'capacity', '{}'::jsonb) AS capacity,"
        " (SELECT coalesce(jsonb_object_agg(l.channel, l.n), '{}'::jsonb) FROM"
        "   (SELECT c.channel, count(*) AS n FROM routing_live_contacts c"
        "     WHERE c.pool_id = a.pool_id AND c.agent_id = a.agent_id"
        "     AND c.status = ANY($3::text[]) AND c.channel IS NOT NULL GROUP BY c.channel) l"
        " ) AS load"
        " FROM routing_agents a WHERE a.pool_id = $1 AND a.agent_id = $2",
        pool_id,
        agent_id,
        list(ACTIVE),
    )
    if row is None:
        return None
    return AgentWorkload(
        status=row["status"],
        reason=row["reason"] or "",
        since=row["status_since"],
        capacity={str(k): int(v) for k, v in _json(row["capacity"]).items()},
        load={str(k): int(v) for k, v in _json(row["load"]).items()},
    )


@dataclass(frozen=True)
class ContactPhase:
    """A live contact's status and when it began (deploy/migrations/050)."""

    status: str  # waiting, offered, assigned, wrap_up
    since: datetime


async def contact_phases(
    pool: asyncpg.Pool, pool_id: str, contact_ids: list[str]
) -> dict[str, ContactPhase]:
    rows = await pool.fetch(
        "SELECT contact_id, status, status_since FROM routing_contacts"
        " WHERE pool_id = $1 AND contact_id = ANY($2::text[])",
        pool_id,
        contact_ids,
    )
    return {r["contact_id"]: ContactPhase(r["status"], r["status_since"]) for r in rows}


async def waiting_channels(pool: asyncpg.Pool, pool_id: str) -> dict[str, str]:
    """The channel of each waiting contact of the pool (contact id → channel)."""
    rows = await pool.fetch(
        "SELECT contact_id, channel FROM routing_live_contacts"
        " WHERE pool_id = $1 AND status = 'waiting' AND channel IS NOT NULL",
        pool_id,
    )
    return {r["contact_id"]: r["channel"] for r in rows}
