"""The day's report over a real PostgreSQL: the queue depth is sampled with its zeros, and
unservable contacts and relaxations are counted from the interaction log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.day.report import build_report

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def test_depth_drops_to_zero_where_nobody_waits_and_eligibility_is_counted(
    database_url: str,
) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        # c1 waits 10..20, c2 waits 60..90 (marked unservable, then widened and answered)
        for contact_id, arrived, answered in (("c1", 10, 20), ("c2", 60, 90)):
            await connection.execute(
                "INSERT INTO contacts (contact_id, pool_id, channel, customer_class,"
                " arrived_at, queued_at, answered_at, wait_seconds)"
                " VALUES ($1, 'p1', 'chat', 'standard', $2, $2, $3, $4)",
                contact_id,
                at(arrived),
                at(answered),
                float(answered - arrived),
            )
        for n, (kind, when) in enumerate(
            (("contact_marked_unservable", 61), ("contact_requirement_relaxed", 75))
        ):
            await connection.execute(
                'INSERT INTO interaction_events (event_id, type, topic, partition, "offset",'
                " pool_id, contact_id, occurred_at, payload)"
                " VALUES ($1, $2, 'interactions', 0, $3, 'p1', 'c2', $4, $5::jsonb)",
                f"e{n}",
                kind,
                n,
                at(when),
                json.dumps({"type": kind}),
            )
    finally:
        await connection.close()
    report = await build_report(
        database_url, "a day", scale=2.0, started=T0, ended=at(100), day_start=0.0, interval=50
    )
    samples = sorted((row["day_second"], row["waiting"]) for row in report.depth)
    assert len(samples) >= 240  # every sampled instant has its row, zeros included

    def waiting(wall_second: float) -> int:
        """The last sample at or before the moment (day seconds: twice the wall's)."""
        return int([w for s, w in samples if s <= 2 * wall_second][-1])

    assert waiting(0) == 0 and waiting(15) == 1  # c1 waits
    assert [waiting(t) for t in (25, 40, 55)] == [0, 0, 0]  # nobody between them
    assert waiting(70) == 1 and waiting(95) == 0
    assert report.eligibility == {
        "unservable": 1,
        "unservable_longest_wait_seconds": 60.0,  # 30 wall seconds, in day seconds
        "relaxations": 1,
        "relaxed_contacts": 1,
    }
