"""The day's report, computed by SQL from the interaction log (``contact_metrics_between``,
``agent_occupancy_15m``, ``notice_outcomes``: the views ops use) and given back in day time:
every duration the log holds in wall-clock seconds is multiplied by the day's scale."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

TIME_COLUMNS = ("asa_seconds", "aht_seconds", "max_wait_seconds")


@dataclass
class DayReport:
    title: str
    scale: float
    thresholds: dict[str, float]  # day seconds per class ('*' = default)
    targets: dict[str, float]
    rows: list[dict[str, Any]]  # per class and channel, with '*' subtotals
    occupancy: dict[str, float | None]  # per pool, and '*'
    notices: dict[str, dict[str, int]]  # per channel: sent, deferred, failed, ...
    intervals: list[dict[str, Any]] = field(default_factory=list)
    waits: list[dict[str, Any]] = field(default_factory=list)
    depth: list[dict[str, Any]] = field(default_factory=list)
    # contacts routing marked unservable (count, longest wait in day seconds) and the
    # relaxation steps applied (widenings, contacts widened)
    eligibility: dict[str, float] = field(default_factory=dict)

    def row(self, customer_class: str, channel: str) -> dict[str, Any] | None:
        return next(
            (
                r
                for r in self.rows
                if (r["customer_class"], r["channel"]) == (customer_class, channel)
            ),
            None,
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


async def targets(connection: asyncpg.Connection) -> tuple[dict[str, float], dict[str, float]]:
    rows = await connection.fetch(
        "SELECT customer_class, threshold_seconds, target_ratio FROM service_level_targets"
    )
    return (
        {r["customer_class"]: r["threshold_seconds"] for r in rows},
        {r["customer_class"]: r["target_ratio"] for r in rows},
    )


async def build_report(
    database_url: str,
    title: str,
    scale: float,
    started: datetime,
    ended: datetime,
    day_start: float,
    interval: float = 1800.0,
) -> DayReport:
    """``started``..``ended``: the wall-clock span of the day; ``day_start``: its first day
    second (08:00 = 28800); ``interval``: day seconds per plotted interval."""
    connection = await asyncpg.connect(database_url)
    try:
        thresholds, ratios = await targets(connection)
        rows = []
        for record in await connection.fetch(
            "SELECT * FROM contact_metrics_between($1, $2) ORDER BY customer_class, channel",
            started,
            ended,
        ):
            row = dict(record)
            for column in TIME_COLUMNS:
                if row[column] is not None:
                    row[column] *= scale
            rows.append(row)
        occupancy = {
            r["pool_id"]: r["occupancy"]
            for r in await connection.fetch(
                "SELECT coalesce(pool_id, '*') AS pool_id,"
                " sum(busy_seconds) / nullif(sum(staffed_seconds), 0) AS occupancy"
                " FROM agent_occupancy_15m GROUP BY GROUPING SETS ((pool_id), ())"
            )
        }
        notices: dict[str, dict[str, int]] = {}
        for r in await connection.fetch(
            "SELECT coalesce(channel, '*') AS channel, sum(notices)::int AS notices,"
            " sum(sent)::int AS sent, sum(deferred)::int AS deferred,"
            " sum(failed)::int AS failed, sum(suppressed)::int AS suppressed,"
            " sum(pending)::int AS pending FROM notice_outcomes"
            " GROUP BY GROUPING SETS ((channel), ())"
        ):
            notices[r["channel"]] = {k: v for k, v in r.items() if k != "channel"}
        return DayReport(
            title=title,
            scale=scale,
            thresholds={k: v * scale for k, v in thresholds.items()},
            targets=ratios,
            rows=rows,
            occupancy=occupancy,
            notices=notices,
            intervals=await _intervals(connection, scale, started, day_start, interval),
            waits=await _waits(connection, scale, started, day_start),
            depth=await _depth(connection, scale, started, ended, day_start),
            eligibility=await _eligibility(connection, scale, started, ended),
        )
    finally:
        await connection.close()


async def _intervals(
    connection: asyncpg.Connection,
    scale: float,
    started: datetime,
    day_start: float,
    interval: float,
) -> list[dict[str, Any]]:
    """Service level per class and interval of the day (intervals of ``interval`` day s)."""
    rows = await connection.fetch(
        "SELECT customer_class,"
        " $3::float8 + extract(epoch FROM date_bin(make_interval(secs => $2), arrival, $1) - $1)"
        "   * $4 AS day_second,"
        " count(*) FILTER (WHERE answered_at IS NOT NULL) AS answered,"
        " (count(*) FILTER (WHERE answered_at IS NOT NULL AND wait_seconds <= threshold_seconds))"
        "   ::float8 / nullif(count(*) FILTER (WHERE answered_at IS NOT NULL), 0)"
        "   AS service_level,"
        " min(target_ratio) AS target"
        " FROM contact_facts WHERE arrival >= $1"
        " GROUP BY 1, 2 ORDER BY 1, 2",
        started,
        interval / scale,
        day_start,
        scale,
    )
    return [dict(r) for r in rows]


async def _waits(
    connection: asyncpg.Connection, scale: float, started: datetime, day_start: float
) -> list[dict[str, Any]]:
    rows = await connection.fetch(
        "SELECT customer_class, channel, status,"
        " $3::float8 + extract(epoch FROM arrival - $1) * $2 AS day_second,"
        " wait_seconds * $2 AS wait"
        " FROM contact_facts WHERE arrival >= $1 AND wait_seconds IS NOT NULL ORDER BY arrival",
        started,
        scale,
        day_start,
    )
    return [dict(r) for r in rows]


async def _depth(
    connection: asyncpg.Connection,
    scale: float,
    started: datetime,
    ended: datetime,
    day_start: float,
    points: int = 240,
) -> list[dict[str, Any]]:
    """Contacts waiting (arrived, not yet answered, abandoned or removed) per class over the
    day, sampled at ``points`` instants; an instant with nobody of a class waiting is a row
    of 0 (a step plot would otherwise hold the last count across the gap)."""
    step = max((ended - started).total_seconds() / points, 0.01)
    rows = await connection.fetch(
        "WITH instants AS (SELECT generate_series($1::timestamptz, $2::timestamptz,"
        "   make_interval(secs => $5)) AS t),"
        " classes AS (SELECT DISTINCT customer_class FROM contact_facts"
        "   WHERE arrival >= $1 AND arrival <= $2)"
        " SELECT $3::float8 + extract(epoch FROM i.t - $1) * $4 AS day_second, k.customer_class,"
        " count(c.contact_id) AS waiting"
        " FROM instants i CROSS JOIN classes k"
        " LEFT JOIN contact_facts c ON c.customer_class = k.customer_class"
        "   AND c.arrival <= i.t AND i.t < coalesce(c.answered_at,"
        "   c.abandoned_at, c.ended_at, c.completed_at,"
        "   CASE WHEN c.removed_reason IS NOT NULL THEN c.updated_at END, 'infinity')"
        " GROUP BY 1, 2 ORDER BY 1, 2",
        started,
        ended,
        day_start,
        scale,
        step,
    )
    return [dict(r) for r in rows]


async def _eligibility(
    connection: asyncpg.Connection, scale: float, started: datetime, ended: datetime
) -> dict[str, float]:
    """Contacts marked unservable and how long the longest of them waited (until answered,
    gone, or the end of the day), in day seconds; relaxation steps applied and to how many
    contacts."""
    row = await connection.fetchrow(
        "WITH marked AS (SELECT DISTINCT contact_id FROM interaction_events"
        "   WHERE type = 'contact_marked_unservable' AND occurred_at >= $1),"
        " relaxed AS (SELECT contact_id FROM interaction_events"
        "   WHERE type = 'contact_requirement_relaxed' AND occurred_at >= $1)"
        " SELECT (SELECT count(*) FROM marked) AS unservable,"
        " (SELECT max(extract(epoch FROM coalesce(c.answered_at, c.abandoned_at, c.ended_at,"
        "   c.completed_at, $2) - c.arrival)) FROM marked m"
        "   JOIN contact_facts c USING (contact_id)) AS longest,"
        " (SELECT count(*) FROM relaxed) AS relaxations,"
        " (SELECT count(DISTINCT contact_id) FROM relaxed) AS relaxed_contacts",
        started,
        ended,
    )
    return {
        "unservable": int(row["unservable"]),
        "unservable_longest_wait_seconds": float(row["longest"] or 0.0) * scale,
        "relaxations": int(row["relaxations"]),
        "relaxed_contacts": int(row["relaxed_contacts"]),
    }


def write_report(report: DayReport, out: Path, markdown: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report.as_json(), indent=2, default=str))
    (out / "report.md").write_text(markdown)
