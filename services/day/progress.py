"""The progress bar while the day runs: the simulated clock, contacts waiting per class (from
routing's live view) and the service level so far (from the interaction log)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from services.day.plan import DayConfig


def clock_text(day_second: float) -> str:
    minutes = int(day_second // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class DayProgress:
    def __init__(self, console: Console, pool: asyncpg.Pool, clock: Any, config: DayConfig):
        self.pool = pool
        self.clock = clock
        self.config = config
        self.progress = Progress(
            TextColumn("[bold]{task.fields[clock]}[/]"),
            BarColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.task = self.progress.add_task(
            "day", total=config.end - config.start, clock=clock_text(config.start), status=""
        )
        self._stopped = asyncio.Event()

    async def status(self) -> str:
        waiting = await self.pool.fetch(
            "SELECT customer_class, count(*) AS n FROM routing_live_contacts"
            " WHERE status = 'waiting' GROUP BY 1 ORDER BY 1"
        )
        level = await self.pool.fetchrow(
            "SELECT count(*) FILTER (WHERE answered_at IS NOT NULL) AS answered,"
            " (count(*) FILTER (WHERE answered_at IS NOT NULL"
            "  AND wait_seconds <= threshold_seconds))::float8"
            " / nullif(count(*) FILTER (WHERE answered_at IS NOT NULL), 0) AS sl,"
            " count(*) FILTER (WHERE abandoned_at IS NOT NULL) AS abandoned"
            " FROM contact_facts"
        )
        queue = " ".join(f"{r['customer_class']} {r['n']}" for r in waiting) or "none"
        sl = "–" if level["sl"] is None else f"{level['sl']:.0%}"
        return (
            f"waiting: {queue} · answered {level['answered']} · SL {sl}"
            f" · abandoned {level['abandoned']}"
        )

    async def run(self) -> None:
        with self.progress:
            while not self._stopped.is_set():
                now = min(self.clock.now(), self.config.end)
                with contextlib.suppress(asyncpg.PostgresError, OSError):
                    status = await self.status()
                    self.progress.update(
                        self.task,
                        completed=now - self.config.start,
                        clock=clock_text(now),
                        status=status,
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), 1.0)

    def stop(self) -> None:
        self._stopped.set()
