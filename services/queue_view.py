"""The waiting line as agents and customers see it, read from routing's live view
(``routing_live_contacts``, 008/009): per class, how many wait and the longest wait among the
contacts an agent could take; and a waiting customer's place in the line.

The order is routing's: priority = class weight + aging x seconds waited, so a contact is
ahead of another when ``weight - aging x arrived_at`` is larger (an unknown class ranks as the
lowest weight). Eligibility by channel capacity is not modelled here: the view is a guide, and
so is the predicted wait (the simulation's formula over the ready agents and recent handle
times)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from streams.simulation.prediction import predicted_wait


@dataclass(frozen=True)
class ClassLine:
    customer_class: str
    waiting: int
    longest_wait_seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "customer_class": self.customer_class,
            "waiting": self.waiting,
            "longest_wait_seconds": round(self.longest_wait_seconds, 1),
        }


def can_take(agent_skills: Mapping[str, int], needed: Mapping[str, int]) -> bool:
    return all(agent_skills.get(skill, -1) >= level for skill, level in needed.items())


def _skills(value: Any) -> dict[str, int]:
    if isinstance(value, str):
        value = json.loads(value)
    return {str(k): int(v) for k, v in (value or {}).items()}


async def waiting_by_class(
    pool: asyncpg.Pool, pool_id: str, agent_skills: Mapping[str, int], now: float | None = None
) -> list[ClassLine]:
    """The pool's waiting contacts this agent has the skills for, per class (most first)."""
    now = time.time() if now is None else now
    rows = await pool.fetch(
        "SELECT customer_class, arrived_at, skills FROM routing_live_contacts"
        " WHERE pool_id = $1 AND status = 'waiting'",
        pool_id,
    )
    lines: dict[str, tuple[int, float]] = {}
    for row in rows:
        if not can_take(agent_skills, _skills(row["skills"])):
            continue
        name = row["customer_class"] or "standard"
        count, longest = lines.get(name, (0, 0.0))
        waited = max(0.0, now - (row["arrived_at"] or now))
        lines[name] = (count + 1, max(longest, waited))
    return [
        ClassLine(name, count, longest)
        for name, (count, longest) in sorted(lines.items(), key=lambda i: (-i[1][0], i[0]))
    ]


DEFAULT_HANDLE_SECONDS = 300.0  # until the interaction log has completed contacts of the pool
RECENT_HANDLES = 200


@dataclass(frozen=True)
class Place:
    status: str | None  # routing's status of the contact (None: routing has no row for it)
    position: int | None  # 1 = next, while it waits
    agent_id: str | None
    predicted_wait_seconds: float | None = None  # while it waits and agents are ready


async def place_in_line(
    pool: asyncpg.Pool,
    pool_id: str,
    contact_id: str,
    class_weights: Mapping[str, float],
    aging_per_second: float,
) -> Place:
    row = await pool.fetchrow(
        "SELECT status, agent_id FROM routing_live_contacts WHERE pool_id = $1 AND contact_id = $2",
        pool_id,
        contact_id,
    )
    if row is None:
        return Place(None, None, None)
    if row["status"] != "waiting":
        return Place(row["status"], None, row["agent_id"])
    lowest = min(class_weights.values(), default=0.0)
    position = await pool.fetchval(
        "WITH line AS (SELECT contact_id, coalesce(($3::jsonb ->> customer_class)::float8, $4)"
        " - $5 * arrived_at AS rank FROM routing_live_contacts"
        " WHERE pool_id = $1 AND status = 'waiting')"
        " SELECT 1 + (SELECT count(*) FROM line o WHERE o.rank > me.rank)"
        " FROM line me WHERE me.contact_id = $2",
        pool_id,
        contact_id,
        json.dumps(dict(class_weights)),
        float(lowest),
        float(aging_per_second),
    )
    if position is None:
        return Place("waiting", None, None)
    return Place("waiting", int(position), None, await _predicted(pool, pool_id, int(position)))


async def _predicted(pool: asyncpg.Pool, pool_id: str, position: int) -> float | None:
    """The simulation's estimate (``predicted_wait``): the contacts ahead served by the pool's
    ready agents at the mean of its recent handle times; None with no agent ready."""
    row = await pool.fetchrow(
        "SELECT (SELECT count(*) FROM routing_agents WHERE pool_id = $1 AND status = 'ready')"
        " AS agents, (SELECT avg(h) FROM (SELECT handle_seconds AS h FROM contacts"
        "  WHERE pool_id = $1 AND handle_seconds IS NOT NULL"
        "  ORDER BY completed_at DESC LIMIT $2) recent) AS handle",
        pool_id,
        RECENT_HANDLES,
    )
    handle = float(row["handle"]) if row["handle"] is not None else DEFAULT_HANDLE_SECONDS
    wait = predicted_wait(position - 1, int(row["agents"]), handle)
    return None if math.isinf(wait) else round(wait, 1)
