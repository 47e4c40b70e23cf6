"""The README's main job, short: a day through the gateway, the desk and the notifier; the
report's figures checked against the interaction log's rows, queried here directly."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from rich.console import Console

from services.day.plan import DayConfig
from services.day.run import publish_report, run_day
from services.runtime.broker import LocalBroker
from streams.platform.settings import Settings

pytestmark = pytest.mark.e2e

SHORT_DAY = DayConfig(
    seed=3,
    scale=300.0,
    agents=3,
    start_hour=9.5,
    end_hour=11.5,
    volume=0.5,
    shipments=12,
    delayed_share=0.6,
)


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


async def test_a_short_day_reports_what_the_interaction_log_holds(
    broker: LocalBroker, postgres_server_url: str, tmp_path: Path
) -> None:
    base = Settings().with_values(
        kafka_bootstrap_servers=broker.bootstrap_servers, database_url=postgres_server_url
    )
    console = Console(width=140, record=True)
    day = await run_day(  # no quiet hours: some notices go out whatever the time of the run
        base, SHORT_DAY, tmp_path / "stack", console, "short day", notice_quiet_hours=""
    )
    report = day.report
    publish_report(console, report, tmp_path / "out")
    assert (tmp_path / "out" / "day.png").stat().st_size > 10_000
    assert "| class | channel |" in (tmp_path / "out" / "report.md").read_text()

    scale = SHORT_DAY.scale
    connection = await asyncpg.connect(day.database_url)
    try:
        contacts = [dict(r) for r in await connection.fetch("SELECT * FROM contacts")]
        thresholds = {
            r["customer_class"]: r["threshold_seconds"]
            for r in await connection.fetch("SELECT * FROM service_level_targets")
        }
        arrived = await connection.fetchval(
            "SELECT count(*) FROM interaction_events WHERE type = 'contact_arrived'"
        )
        notices = await connection.fetch("SELECT status, channel FROM notices")
        agents_logged_in = await connection.fetchval(
            "SELECT count(DISTINCT agent_id) FROM interaction_events WHERE type = 'agent_logged_in'"
        )
    finally:
        await connection.close()

    # every channel came in through its real entry point and reached the log
    assert {c["channel"] for c in contacts} >= {"voice", "chat", "email", "sms"}
    assert arrived >= len(contacts) > 30
    assert agents_logged_in == SHORT_DAY.agents
    assert any(c["completed_at"] and c["disposition"] for c in contacts)
    assert notices and any(n["status"] in ("sent", "delivered") for n in notices)

    def expected(rows: list[dict[str, Any]]) -> dict[str, Any]:
        def threshold(c: dict[str, Any]) -> float:
            return float(thresholds.get(c["customer_class"], thresholds["*"]))

        answered = [c for c in rows if c["answered_at"] is not None]
        abandoned = [c for c in rows if c["abandoned_at"] is not None]
        done = [c for c in rows if c["completed_at"] is not None]
        within = [c for c in answered if c["wait_seconds"] <= threshold(c)]
        short = [c for c in abandoned if c["wait_seconds"] <= threshold(c)]
        resolved = len(answered) + len(abandoned)
        return {
            "offered": len(rows),
            "answered": len(answered),
            "abandoned": len(abandoned),
            "service_level": len(within) / len(answered) if answered else None,
            "service_level_abandons": (len(within) + len(short)) / resolved if resolved else None,
            "asa_seconds": scale * sum(c["wait_seconds"] for c in answered) / len(answered)
            if answered
            else None,
            "abandonment_rate": len(abandoned) / resolved if resolved else None,
            "aht_seconds": scale * sum(c["handle_seconds"] for c in done) / len(done)
            if done
            else None,
        }

    def select(klass: str, channel: str) -> list[dict[str, Any]]:
        return [
            c
            for c in contacts
            if klass in ("*", c["customer_class"]) and channel in ("*", c["channel"])
        ]

    assert report.row("*", "*") is not None
    for row in report.rows:
        want = expected(select(row["customer_class"], row["channel"]))
        for key, value in want.items():
            assert _close(row[key], value), (row["customer_class"], row["channel"], key)
    assert report.notices["*"]["notices"] == len(notices)
    assert report.notices["*"]["sent"] == sum(n["status"] in ("sent", "delivered") for n in notices)
    assert report.occupancy["*"] is not None and 0 < report.occupancy["*"] <= 1
