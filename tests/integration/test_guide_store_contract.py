"""The guide store contract, run against the in-memory fake and the real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.runtime.postgres import create_database
from streams.guides import domain as g
from streams.guides.definitions import load_guides
from streams.guides.ports import GuideStore
from streams.guides.store_pg import PgGuideStore
from streams.platform.migrations import migrate
from tests.support.guide_fakes import MemoryGuideStore

GUIDE = next(x for x in load_guides() if x.guide_id == "address_change")


@pytest.fixture(params=["memory", "postgres"])
async def store(
    request: pytest.FixtureRequest, postgres_server_url: str
) -> AsyncIterator[GuideStore]:
    if request.param == "memory":
        yield MemoryGuideStore()
        return
    url = await create_database(postgres_server_url)
    await migrate(url)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        yield PgGuideStore(pool)
    finally:
        await pool.close()


async def save(store: GuideStore, t: g.Transition, expected: int) -> bool:
    return await store.save(
        t.run, expected_seq=expected, events=t.events, pool_id="p1", agent_id="ann",
        required=GUIDE.required,
    )  # fmt: skip


async def test_runs_and_audit_rows_round_trip_optimistically(store: GuideStore) -> None:
    assert await store.get("c1") is None
    started = g.start(GUIDE, "c1", 100.0)
    assert await save(store, started, 0)
    assert not await save(store, started, 0)  # a second start loses
    step = g.record_step(GUIDE, started.run, "verify_identity", "yes", 101.0)
    assert await save(store, step, started.run.seq)
    assert not await save(store, step, started.run.seq)  # stale: the run moved on
    stored = await store.get("c1")
    assert stored is not None and stored.run == step.run and stored.pool_id == "p1"
    rows = await store.unpublished("c1")
    assert [(r.event.seq, r.event.kind, r.event.step_id) for r in rows] == [
        (1, "step_started", "verify_identity"),
        (2, "step_completed", "verify_identity"),
        (3, "step_started", "check_arrears"),
    ]
    assert rows[1].event.value == "yes" and rows[1].agent_id == "ann"
    assert rows[0].event_id == "c1:guide:1"
    await store.mark_published([r.event_id for r in rows[:2]])
    assert [r.event.seq for r in await store.unpublished("c1")] == [3]
