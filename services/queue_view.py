"""The waiting line as agents and customers see it, read through routing's typed reader of
its live rows (:mod:`streams.routing.live_view`): per class, how many wait and the longest wait
among the contacts an agent could take; and a waiting customer's place in the line.

The order is routing's: priority = class weight + aging x seconds waited, so a contact is
ahead of another when ``weight - aging x arrived_at`` is larger (an unknown class ranks as the
lowest weight). The predicted wait is routing's formula over the agents qualified for the
contact (routing stores who could serve each waiting requirement); with none logged in it is
"no agent available", never a number."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from streams.routing.domain.prediction import expected_wait
from streams.routing.live_view import (
    contact_status,
    position_in_line,
    requirement_serving,
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


@dataclass(frozen=True)
class UnservableLine:
    """Waiting contacts of a channel that no logged-in agent could take, and what nobody
    meets: shown to every agent, whatever their skills, so nobody reads "Nobody waiting"."""

    channel: str
    requirement: str
    waiting: int
    longest_wait_seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "requirement": self.requirement,
            "waiting": self.waiting,
            "longest_wait_seconds": round(self.longest_wait_seconds, 1),
        }


async def unservable_lines(
    pool: asyncpg.Pool, pool_id: str, now: float | None = None
) -> list[UnservableLine]:
    now = time.time() if now is None else now
    lines: dict[tuple[str, str], tuple[int, float]] = {}
    for contact in await waiting_contacts(pool, pool_id):
        if contact.unservable is None:
            continue
        key = (contact.channel or "", contact.unservable)
        count, longest = lines.get(key, (0, 0.0))
        lines[key] = (count + 1, max(longest, max(0.0, now - (contact.arrived_at or now))))
    return [UnservableLine(ch, req, n, w) for (ch, req), (n, w) in sorted(lines.items())]


@dataclass(frozen=True)
class Place:
    status: str | None  # routing's status of the contact (None: routing has no row for it)
    position: int | None  # 1 = next, while it waits
    agent_id: str | None
    predicted_wait_seconds: float | None = None  # while it waits and eligible agents are ready
    no_agent: bool = False  # no logged-in agent could take it: never a number then
    rough: bool = False  # the estimate rests on the channel's prior or a few completions


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
    if status.status != "waiting":
        return Place(status.status, None, status.agent_id)
    position = await position_in_line(pool, pool_id, contact_id, class_weights, aging_per_second)
    if position is None:
        return Place("waiting", None, None)
    if status.unservable is not None:
        return Place("waiting", int(position), None, no_agent=True)
    serving = await requirement_serving(pool, pool_id, status.channel or "", status.skills)
    if serving is None:  # routing has not stored the batch that queued it yet
        return Place("waiting", int(position), None)
    if serving.logged_in == 0:
        return Place("waiting", int(position), None, no_agent=True)
    # routing's formula over the agents qualified for this contact only: none while a free
    # slot is left for it, else the contacts ahead served by their slots
    wait = expected_wait(position - 1, serving.free, serving.slots, serving.handle_seconds)
    seconds = None if math.isinf(wait) else round(wait, 1)
    return Place("waiting", int(position), None, seconds, rough=serving.rough)


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
