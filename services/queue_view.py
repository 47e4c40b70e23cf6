"""The waiting line as agents and customers see it, read through routing's typed reader of
its live rows (:mod:`streams.routing.live_view`): per class, how many wait and the longest wait
among the contacts an agent could take; and a waiting customer's place in the line.

The order is routing's: priority = class weight + aging x seconds waited, so a contact is
ahead of another when ``weight - aging x arrived_at`` is larger (an unknown class ranks as the
lowest weight). Eligibility by channel capacity is not modelled here: the view is a guide, and
so is the predicted wait (routing's formula over the ready agents and recent handle
times)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from streams.routing.domain.prediction import predicted_wait
from streams.routing.live_view import (
    contact_status,
    position_in_line,
    ready_agents,
    waiting_channels,
    waiting_contacts,
)


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


async def waiting_by_class(
    pool: asyncpg.Pool, pool_id: str, agent_skills: Mapping[str, int], now: float | None = None
) -> list[ClassLine]:
    """The pool's waiting contacts this agent has the skills for, per class (most first)."""
    now = time.time() if now is None else now
    lines: dict[str, tuple[int, float]] = {}
    for contact in await waiting_contacts(pool, pool_id):
        if not can_take(agent_skills, contact.skills):
            continue
        name = contact.customer_class or "standard"
        count, longest = lines.get(name, (0, 0.0))
        waited = max(0.0, now - (contact.arrived_at or now))
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
    status = await contact_status(pool, pool_id, contact_id)
    if status is None:
        return Place(None, None, None)
    if status[0] != "waiting":
        return Place(status[0], None, status[1])
    position = await position_in_line(pool, pool_id, contact_id, class_weights, aging_per_second)
    if position is None:
        return Place("waiting", None, None)
    return Place("waiting", int(position), None, await _predicted(pool, pool_id, int(position)))


async def _predicted(pool: asyncpg.Pool, pool_id: str, position: int) -> float | None:
    """Routing's formula (``predicted_wait``): the contacts ahead served by the pool's
    ready agents at the mean of its recent handle times; None with no agent ready."""
    mean = await pool.fetchval(  # the interaction log's recent handle times
        "SELECT avg(h) FROM (SELECT handle_seconds AS h FROM contacts"
        " WHERE pool_id = $1 AND handle_seconds IS NOT NULL"
        " ORDER BY completed_at DESC LIMIT $2) recent",
        pool_id,
        RECENT_HANDLES,
    )
    handle = float(mean) if mean is not None else DEFAULT_HANDLE_SECONDS
    wait = predicted_wait(position - 1, await ready_agents(pool, pool_id), handle)
    return None if math.isinf(wait) else round(wait, 1)


@dataclass(frozen=True)
class ChannelLine:
    channel: str
    waiting: int
    longest_wait_seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "waiting": self.waiting,
            "longest_wait_seconds": round(self.longest_wait_seconds, 1),
        }


async def waiting_by_channel(
    pool: asyncpg.Pool, pool_id: str, agent_skills: Mapping[str, int], now: float | None = None
) -> list[ChannelLine]:
    """The same contacts as :func:`waiting_by_class`, per channel (most first)."""
    now = time.time() if now is None else now
    channels = await waiting_channels(pool, pool_id)
    lines: dict[str, tuple[int, float]] = {}
    for contact in await waiting_contacts(pool, pool_id):
        if not can_take(agent_skills, contact.skills):
            continue
        name = channels.get(contact.contact_id, "unknown")
        count, longest = lines.get(name, (0, 0.0))
        waited = max(0.0, now - (contact.arrived_at or now))
        lines[name] = (count + 1, max(longest, waited))
    return [
        ChannelLine(name, count, longest)
        for name, (count, longest) in sorted(lines.items(), key=lambda i: (-i[1][0], i[0]))
    ]
