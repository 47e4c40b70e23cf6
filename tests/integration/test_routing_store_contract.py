"""The routing store contract, run against the in-memory fake and the real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.runtime.postgres import create_database
from streams.platform.migrations import migrate
from streams.routing.ports import PoolChanges, RoutingStore
from streams.routing.store_pg import PostgresRoutingStore
from tests.support.routing_fakes import MemoryRoutingStore

TOPIC = "routing"
NOW = 1_800_000_000.0
UNTIL = 1_000  # the last offset of the batch: above every offset these tests store


@pytest.fixture(params=["memory", "postgres"])
async def store(
    request: pytest.FixtureRequest, postgres_server_url: str
) -> AsyncIterator[RoutingStore]:
    if request.param == "memory":
        yield MemoryRoutingStore()
        return
    url = await create_database(postgres_server_url)
    await migrate(url)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        yield PostgresRoutingStore(pool)
    finally:
        await pool.close()


def change(pool_id: str, clock: float, **contacts: dict[str, object] | None) -> PoolChanges:
    return PoolChanges(pool_id=pool_id, clock=clock, contacts=dict(contacts))


async def test_a_new_partition_has_no_offset_and_no_pools(store: RoutingStore) -> None:
    async with store.partition(TOPIC, 0, now=NOW, until=UNTIL) as tx:
        assert tx.stored_offset == -1
        assert await tx.load_pools() == []


async def test_saved_rows_and_offset_load_back(store: RoutingStore) -> None:
    row = {"contact_id": "c1", "status": "waiting", "nested": {"skills": {"en": 3}}}
    async with store.partition(TOPIC, 1, now=NOW, until=UNTIL) as tx:
        await tx.save(
            [PoolChanges("p1", 12.5, contacts={"c1": row}, agents={"a1": {"status": "ready"}})],
            41,
        )
    async with store.partition(TOPIC, 1, now=NOW, until=UNTIL) as tx:
        assert tx.stored_offset == 41
        (pool,) = await tx.load_pools()
        assert (pool.pool_id, pool.clock, pool.contacts, pool.agents) == (
            "p1",
            12.5,
            [row],
            [{"status": "ready"}],
        )


async def test_none_deletes_and_offsets_never_go_back(store: RoutingStore) -> None:
    async with store.partition(TOPIC, 2, now=NOW, until=UNTIL) as tx:
        await tx.save([change("p2", 1.0, c1={"status": "waiting"}, c2={"status": "waiting"})], 9)
    async with store.partition(TOPIC, 2, now=NOW, until=UNTIL) as tx:
        await tx.save([change("p2", 2.0, c1=None)], 5)
    async with store.partition(TOPIC, 2, now=NOW, until=UNTIL) as tx:
        assert tx.stored_offset == 9
        (pool,) = await tx.load_pools()
        assert pool.contacts == [{"status": "waiting"}] and pool.clock == 2.0


async def test_a_failed_transaction_stores_nothing(store: RoutingStore) -> None:
    with pytest.raises(RuntimeError):
        async with store.partition(TOPIC, 3, now=NOW, until=UNTIL) as tx:
            await tx.save([change("p3", 1.0, c1={"status": "waiting"})], 7)
            raise RuntimeError("crash before commit")
    async with store.partition(TOPIC, 3, now=NOW, until=UNTIL) as tx:
        assert tx.stored_offset == -1
        assert await tx.load_pools() == []


async def test_partitions_are_separate(store: RoutingStore) -> None:
    async with store.partition(TOPIC, 4, now=NOW, until=UNTIL) as tx:
        await tx.save([change("p4", 1.0, c1={"status": "waiting"})], 3)
    async with store.partition(TOPIC, 5, now=NOW, until=UNTIL) as tx:
        assert tx.stored_offset == -1
        assert await tx.load_pools() == []
    async with store.partition("other-topic", 4, now=NOW, until=UNTIL) as tx:
        assert tx.stored_offset == -1


async def test_remembered_ids_load_back_oldest_first_and_are_forgotten(
    store: RoutingStore,
) -> None:
    async with store.partition(TOPIC, 6, now=NOW, until=UNTIL) as tx:
        await tx.save(
            [
                PoolChanges(
                    "p6",
                    10.0,
                    inputs={"e2": 2.0, "e1": 1.0},
                    finished={"c1": 1.5},
                )
            ],
            3,
        )
    async with store.partition(TOPIC, 6, now=NOW, until=UNTIL) as tx:
        await tx.save(
            [
                PoolChanges(
                    "p6",
                    20.0,
                    inputs={"e3": 3.0},
                    forget_inputs_before=2.0,
                    forget_finished_before=1.0,
                )
            ],
            4,
        )
    async with store.partition(TOPIC, 6, now=NOW, until=UNTIL) as tx:
        (pool,) = await tx.load_pools()
        assert pool.inputs == [("e2", 2.0), ("e3", 3.0)]
        assert pool.finished == [("c1", 1.5)]


async def test_a_claimed_processing_time_covers_every_replay_of_its_inputs(
    store: RoutingStore,
) -> None:
    with pytest.raises(RuntimeError):
        async with store.partition(TOPIC, 7, now=NOW, until=10) as tx:
            assert tx.processed_at == NOW
            raise RuntimeError("crash after publishing inputs 0..10, before the commit")
    # the replacement's batches end elsewhere: inputs up to 10 may be out with NOW
    async with store.partition(TOPIC, 7, now=NOW + 30, until=4) as tx:
        assert tx.processed_at == NOW
        await tx.save([change("p7", 1.0)], 4)
    async with store.partition(TOPIC, 7, now=NOW + 60, until=12) as tx:
        assert tx.processed_at == NOW  # 5..10 may be out; 11..12 join the same claim
        await tx.save([change("p7", 2.0)], 12)
    async with store.partition(TOPIC, 7, now=NOW + 90, until=15) as tx:
        assert tx.processed_at == NOW + 90  # everything claimed is stored: a time of its own
        await tx.save([change("p7", 3.0)], 15)
    with pytest.raises(RuntimeError):
        async with store.partition(TOPIC, 7, now=NOW + 120, until=20):
            raise RuntimeError("failed before publishing anything")
    async with store.partition(TOPIC, 7, now=NOW + 150, until=20, renew=True) as tx:
        assert tx.processed_at == NOW + 150  # nothing went out with the last claim


async def test_the_prediction_memory_loads_back_and_none_keeps_it(store: RoutingStore) -> None:
    estimator = {"handle": {"voice": [61.25, 3]}, "arrivals": {"voice": {"vip": [1.5, 10.0]}}}
    waits = {"standard": {"voice": 120.5, "chat": None}}
    async with store.partition(TOPIC, 5, now=NOW, until=UNTIL) as tx:
        assert tx.stored_offset == -1
        await tx.save([PoolChanges("p5", 1.0, estimator=estimator, predicted_waits=waits)], 1)
    async with store.partition(TOPIC, 5, now=NOW, until=UNTIL) as tx:
        await tx.save([PoolChanges("p5", 2.0)], 2)
    async with store.partition(TOPIC, 5, now=NOW, until=UNTIL) as tx:
        (pool,) = await tx.load_pools()
        assert (pool.clock, pool.estimator) == (2.0, estimator)


async def test_the_pool_policy_loads_back_and_none_keeps_it(store: RoutingStore) -> None:
    policy = {"class_weights": {"standard": 50.0, "vip": 10.0}, "aging_per_second": 0.5}
    moved = {"c1": ["p7", 0.5]}
    async with store.partition(TOPIC, 6, now=NOW, until=UNTIL) as tx:
        await tx.save([PoolChanges("p6", 1.0, policy=policy, moved=moved)], 1)
    async with store.partition(TOPIC, 6, now=NOW, until=UNTIL) as tx:
        await tx.save([PoolChanges("p6", 2.0)], 2)
    async with store.partition(TOPIC, 6, now=NOW, until=UNTIL) as tx:
        (pool,) = await tx.load_pools()
        assert (pool.clock, pool.policy, pool.moved) == (2.0, policy, moved)
