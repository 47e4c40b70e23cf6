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
    async with store.partition(TOPIC, 0, now=NOW) as tx:
        assert tx.stored_offset == -1
        assert await tx.load_pools() == []


async def test_saved_rows_and_offset_load_back(store: RoutingStore) -> None:
    row = {"contact_id": "c1", "status": "waiting", "nested": {"skills": {"en": 3}}}
    async with store.partition(TOPIC, 1, now=NOW) as tx:
        await tx.save(
            [PoolChanges("p1", 12.5, contacts={"c1": row}, agents={"a1": {"status": "ready"}})],
            41,
        )
    async with store.partition(TOPIC, 1, now=NOW) as tx:
        assert tx.stored_offset == 41
        (pool,) = await tx.load_pools()
        assert (pool.pool_id, pool.clock, pool.contacts, pool.agents) == (
            "p1",
            12.5,
            [row],
            [{"status": "ready"}],
        )


async def test_none_deletes_and_offsets_never_go_back(store: RoutingStore) -> None:
    async with store.partition(TOPIC, 2, now=NOW) as tx:
        await tx.save([change("p2", 1.0, c1={"status": "waiting"}, c2={"status": "waiting"})], 9)
    async with store.partition(TOPIC, 2, now=NOW) as tx:
        await tx.save([change("p2", 2.0, c1=None)], 5)
    async with store.partition(TOPIC, 2, now=NOW) as tx:
        assert tx.stored_offset == 9
        (pool,) = await tx.load_pools()
        assert pool.contacts == [{"status": "waiting"}] and pool.clock == 2.0


async def test_a_failed_transaction_stores_nothing(store: RoutingStore) -> None:
    with pytest.raises(RuntimeError):
        async with store.partition(TOPIC, 3, now=NOW) as tx:
            await tx.save([change("p3", 1.0, c1={"status": "waiting"})], 7)
            raise RuntimeError("crash before commit")
    async with store.partition(TOPIC, 3, now=NOW) as tx:
        assert tx.stored_offset == -1
        assert await tx.load_pools() == []


async def test_partitions_are_separate(store: RoutingStore) -> None:
    async with store.partition(TOPIC, 4, now=NOW) as tx:
        await tx.save([change("p4", 1.0, c1={"status": "waiting"})], 3)
    async with store.partition(TOPIC, 5, now=NOW) as tx:
        assert tx.stored_offset == -1
        assert await tx.load_pools() == []
    async with store.partition("other-topic", 4, now=NOW) as tx:
        assert tx.stored_offset == -1


async def test_remembered_ids_load_back_oldest_first_and_are_forgotten(
    store: RoutingStore,
) -> None:
    async with store.partition(TOPIC, 6, now=NOW) as tx:
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
    async with store.partition(TOPIC, 6, now=NOW) as tx:
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
    async with store.partition(TOPIC, 6, now=NOW) as tx:
        (pool,) = await tx.load_pools()
        assert pool.inputs == [("e2", 2.0), ("e3", 3.0)]
        assert pool.finished == [("c1", 1.5)]


async def test_a_batch_keeps_its_claimed_processing_time_until_it_is_stored(
    store: RoutingStore,
) -> None:
    with pytest.raises(RuntimeError):
        async with store.partition(TOPIC, 7, now=NOW) as tx:
            assert tx.processed_at == NOW
            raise RuntimeError("crash after publishing, before the commit")
    async with store.partition(TOPIC, 7, now=NOW + 30) as tx:
        assert tx.processed_at == NOW  # a replay of the same batch reuses it
        await tx.save([change("p7", 1.0)], 5)
    async with store.partition(TOPIC, 7, now=NOW + 60) as tx:
        assert tx.processed_at == NOW + 60  # the next batch takes its own
    async with store.partition(TOPIC, 7, now=NOW + 90, renew=True) as tx:
        assert tx.processed_at == NOW + 90  # nothing went out with the last one
