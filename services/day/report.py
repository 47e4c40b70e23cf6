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
    day, sampled at ``points`` instants."""
    step = max((ended - started).total_seconds() / points, 0.01)
    rows = await connection.fetch(
        "SELECT $3::float8 + extract(epoch FROM t - $1) * $4 AS day_second, c.customer_class,"
        " count(c.contact_id) AS waiting"
        " FROM generate_series($1::timestamptz, $2::timestamptz, make_interval(secs => $5)) t"
        " JOIN contact_facts c ON c.arrival <= t AND t < coalesce(c.answered_at,"
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


def write_report(report: DayReport, out: Path, markdown: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report.as_json(), indent=2, default=str))
    (out / "report.md").write_text(markdown)
