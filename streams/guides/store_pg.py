"""Guide runs and their audit rows in PostgreSQL (deploy/migrations/010_guides.sql)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from streams.guides.domain import AuditEvent, GuideRun
from streams.guides.domain.snapshot import run_from_json, run_to_json
from streams.guides.ports import AuditRow, StoredRun, audit_event_id


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class PgGuideStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def get(self, contact_id: str) -> StoredRun | None:
        row = await self.pool.fetchrow(
            "SELECT state, pool_id FROM guide_runs WHERE contact_id = $1", contact_id
        )
        if row is None:
            return None
        return StoredRun(run_from_json(json.loads(row["state"])), row["pool_id"])

    async def save(
        self,
        run: GuideRun,
        *,
        expected_seq: int,
        events: Sequence[AuditEvent],
        pool_id: str,
        agent_id: str | None,
        required: Sequence[str],
    ) -> bool:
        state = json.dumps(run_to_json(run))
        first = _at(events[0].at) if events else datetime.now(UTC)
        completed = first if run.status == "completed" else None
        needed = [s for s in required if s not in run.bypassed]
        async with self.pool.acquire() as conn, conn.transaction():
            if expected_seq == 0:
                status = await conn.execute(
                    "INSERT INTO guide_runs (contact_id, guide_id, version, pool_id, status,"
                    " current_step, seq, required_steps, bypassed_steps, state, started_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)"
                    " ON CONFLICT (contact_id) DO NOTHING",
                    run.contact_id,
                    run.guide_id,
                    run.version,
                    pool_id,
                    run.status,
                    run.current,
                    run.seq,
                    needed,
                    sorted(run.bypassed),
                    state,
                    first,
                )
            else:
                status = await conn.execute(
                    "UPDATE guide_runs SET status = $2, current_step = $3, seq = $4,"
                    " required_steps = $5, bypassed_steps = $6, state = $7::jsonb,"
                    " completed_at = coalesce(completed_at, $8), updated_at = now()"
                    " WHERE contact_id = $1 AND seq = $9",
                    run.contact_id,
                    run.status,
                    run.current,
                    run.seq,
                    needed,
                    sorted(run.bypassed),
                    state,
                    completed,
                    expected_seq,
                )
            if status.endswith(" 0"):
                return False
            await conn.executemany(
                "INSERT INTO guide_audit (event_id, contact_id, guide_id, version, seq, kind,"
                " step_id, value, reason, agent_id, occurred_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                " ON CONFLICT (event_id) DO NOTHING",
                [
                    (
                        audit_event_id(run.contact_id, e.seq),
                        run.contact_id,
                        run.guide_id,
                        run.version,
                        e.seq,
                        e.kind,
                        e.step_id,
                        e.value,
                        e.reason,
                        agent_id,
                        _at(e.at),
                    )
                    for e in events
                ],
            )
        return True

    async def unpublished(self, contact_id: str) -> list[AuditRow]:
        rows = await self.pool.fetch(
            "SELECT a.*, r.pool_id FROM guide_audit a JOIN guide_runs r USING (contact_id)"
            " WHERE a.contact_id = $1 AND a.published_at IS NULL ORDER BY a.seq",
            contact_id,
        )
        return [
            AuditRow(
                event_id=r["event_id"],
                contact_id=r["contact_id"],
                guide_id=r["guide_id"],
                version=r["version"],
                event=AuditEvent(
                    r["seq"],
                    r["kind"],
                    r["occurred_at"].timestamp(),
                    r["step_id"],
                    r["value"],
                    r["reason"],
                ),
                agent_id=r["agent_id"],
                pool_id=r["pool_id"],
            )
            for r in rows
        ]

    async def mark_published(self, event_ids: Sequence[str]) -> None:
        await self.pool.execute(
            "UPDATE guide_audit SET published_at = now()"
            " WHERE event_id = ANY($1::text[]) AND published_at IS NULL",
            list(event_ids),
        )
