"""The floor of one pool as a supervisor sees it: queues by class and channel (waiting,
longest wait, unservable, today's service level and abandons) and agents (state, time in
state, capacity used per channel, current contacts, today's handled count and AHT).

Read from routing's live rows (through its typed reader, ``streams.routing.live_view``) and
the interaction log; "today" starts at midnight in the pool's time zone."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from services.admin.model import PoolPolicySpec
from services.supervisor.unservable import derive_unservable, logged_in_staff
from streams.routing.live_view import pool_agents, pool_contacts

DEFAULT_THRESHOLD_SECONDS = 20.0  # as service_level_targets' '*' row (migration 002)


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class QueueLine(_View):
    channel: str
    customer_class: str
    waiting: int
    longest_wait_seconds: float
    unservable: int
    answered_today: int
    abandoned_today: int
    service_level_today: float | None = Field(
        description="answered within the class's threshold / answered; null before any answer"
    )
    threshold_seconds: float


class ChannelUse(_View):
    channel: str
    used: int
    capacity: int


class WorkLine(_View):
    contact_id: str
    channel: str | None
    status: str
    customer_class: str | None
    seconds: float = Field(description="since arrival (offered) or since answered")


class AgentLine(_View):
    agent_id: str
    name: str | None
    state: str
    reason: str
    seconds_in_state: float
    capacity: list[ChannelUse]
    contacts: list[WorkLine]
    handled_today: int
    aht_seconds: float | None


class WaitingLine(_View):
    contact_id: str
    channel: str | None
    customer_class: str | None
    waited_seconds: float
    skills: dict[str, int]
    unservable: bool


class FloorView(_View):
    pool_id: str
    at: datetime
    queues: list[QueueLine]
    agents: list[AgentLine]
    waiting: list[WaitingLine]


class PoolNames(_View):
    pools: list[str]


def day_start(now: datetime, time_zone: str) -> datetime:
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


async def _thresholds(db: asyncpg.Pool, policy: PoolPolicySpec) -> dict[str, float]:
    rows = await db.fetch("SELECT customer_class, threshold_seconds FROM service_level_targets")
    found = {r["customer_class"]: float(r["threshold_seconds"]) for r in rows}
    found.update({t.customer_class: t.threshold_seconds for t in policy.service_levels})
    return found


async def floor_view(
    db: asyncpg.Pool,
    pool_id: str,
    policy: PoolPolicySpec,
    default_capacity: dict[str, int],
    now: datetime | None = None,
) -> FloorView:
    now = now or datetime.now(UTC)
    epoch = now.timestamp()
    since = day_start(now, policy.time_zone)
    contacts = await pool_contacts(db, pool_id)
    agents = await pool_agents(db, pool_id)
    staff = logged_in_staff(agents, default_capacity)
    thresholds = await _thresholds(db, policy)
    today = await db.fetch(
        "SELECT channel, coalesce(customer_class, 'standard') AS customer_class,"
        " wait_seconds, answered_at IS NOT NULL AS answered, abandoned_at IS NOT NULL AS abandoned"
        " FROM contacts WHERE pool_id = $1 AND greatest(answered_at, abandoned_at) >= $2",
        pool_id,
        since,
    )
    handled = {
        r["agent_id"]: (int(r["n"]), r["aht"])
        for r in await db.fetch(
            "SELECT agent_id, count(*) AS n, avg(handle_seconds) AS aht FROM contacts"
            " WHERE pool_id = $1 AND completed_at >= $2 AND agent_id IS NOT NULL"
            " GROUP BY agent_id",
            pool_id,
            since,
        )
    }
    names = {
        r["agent_id"]: r["name"]
        for r in await db.fetch(
            "SELECT agent_id, name FROM agents WHERE agent_id = ANY($1::text[])",
            [a.agent_id for a in agents],
        )
    }
    states = {
        r["agent_id"]: (r["state"], r["changed_at"])
        for r in await db.fetch(
            "SELECT DISTINCT ON (agent_id) agent_id, state, changed_at FROM agent_state_history"
            " WHERE pool_id = $1 ORDER BY agent_id, changed_at DESC",
            pool_id,
        )
    }

    waiting = [
        WaitingLine(
            contact_id=c.contact_id,
            channel=c.channel,
            customer_class=c.customer_class,
            waited_seconds=round(max(0.0, epoch - (c.arrived_at or epoch)), 1),
            skills=c.skills,
            unservable=derive_unservable(c, staff),
        )
        for c in contacts
        if c.status == "waiting"
    ]
    groups: dict[tuple[str, str], list[WaitingLine]] = defaultdict(list)
    for line in waiting:
        groups[(line.channel or "", line.customer_class or "standard")].append(line)
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])  # ans, met, aband
    for r in today:
        key = (r["channel"] or "", r["customer_class"])
        threshold = thresholds.get(key[1], thresholds.get("*", DEFAULT_THRESHOLD_SECONDS))
        if r["answered"]:
            counts[key][0] += 1
            counts[key][1] += int((r["wait_seconds"] or 0.0) <= threshold)
        elif r["abandoned"]:
            counts[key][2] += 1
    queues = []
    for key in sorted(set(groups) | set(counts)):
        lines = groups.get(key, [])
        answered, met, abandoned = counts.get(key, [0, 0, 0])
        queues.append(
            QueueLine(
                channel=key[0],
                customer_class=key[1],
                waiting=len(lines),
                longest_wait_seconds=max((w.waited_seconds for w in lines), default=0.0),
                unservable=sum(w.unservable for w in lines),
                answered_today=answered,
                abandoned_today=abandoned,
                service_level_today=round(met / answered, 3) if answered else None,
                threshold_seconds=thresholds.get(
                    key[1], thresholds.get("*", DEFAULT_THRESHOLD_SECONDS)
                ),
            )
        )

    work: dict[str, list[WorkLine]] = defaultdict(list)
    for c in contacts:
        if c.agent_id is None or c.status == "waiting":
            continue
        start = c.assigned_at if c.assigned_at is not None else c.arrived_at
        work[c.agent_id].append(
            WorkLine(
                contact_id=c.contact_id,
                channel=c.channel,
                status=c.status,
                customer_class=c.customer_class,
                seconds=round(max(0.0, epoch - (start or epoch)), 1),
            )
        )
    agent_lines: list[AgentLine] = []
    for agent in agents:
        state, changed = states.get(agent.agent_id, (None, None))
        since_state = changed if state == agent.status and changed else agent.updated_at
        capacity = {**default_capacity, **agent.capacity}
        used: dict[str, int] = defaultdict(int)
        for item in work[agent.agent_id]:
            used[item.channel or ""] += 1
        count, aht = handled.get(agent.agent_id, (0, None))
        agent_lines.append(
            AgentLine(
                agent_id=agent.agent_id,
                name=names.get(agent.agent_id),
                state=agent.status,
                reason=agent.reason,
                seconds_in_state=round(max(0.0, (now - since_state).total_seconds()), 1),
                capacity=[
                    ChannelUse(channel=ch, used=used.get(ch, 0), capacity=n)
                    for ch, n in sorted(capacity.items())
                    if n > 0 or used.get(ch)
                ],
                contacts=work[agent.agent_id],
                handled_today=count,
                aht_seconds=None if aht is None else round(float(aht), 1),
            )
        )
    return FloorView(pool_id=pool_id, at=now, queues=queues, agents=agent_lines, waiting=waiting)


__all__ = ["FloorView", "PoolNames", "day_start", "floor_view"]
