"""Routing state in PostgreSQL: pool rows and the input offsets they reflect, in one transaction."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg

from streams.routing_ports import PoolChanges, PoolRows, RoutingTransaction


class _PostgresTransaction:
    def __init__(self, connection: asyncpg.Connection, topic: str, partition: int) -> None:
        self._connection = connection
        self._topic = topic
        self._partition = partition
        self._stored_offset = -1

    @property
    def stored_offset(self) -> int:
        return self._stored_offset

    async def lock(self) -> None:
        await self._connection.execute(
            'INSERT INTO routing_offsets (topic, partition, "offset") VALUES ($1, $2, -1)'
            " ON CONFLICT DO NOTHING",
            self._topic,
            self._partition,
        )
        self._stored_offset = await self._connection.fetchval(
            'SELECT "offset" FROM routing_offsets WHERE topic = $1 AND partition = $2 FOR UPDATE',
            self._topic,
            self._partition,
        )

    async def load_pools(self) -> list[PoolRows]:
        pools = await self._connection.fetch(
            "SELECT pool_id, clock FROM routing_pools WHERE topic = $1 AND partition = $2"
            " ORDER BY pool_id",
            self._topic,
            self._partition,
        )
        loaded: list[PoolRows] = []
        for pool in pools:
            contacts = await self._connection.fetch(
                "SELECT state FROM routing_contacts WHERE pool_id = $1 ORDER BY contact_id",
                pool["pool_id"],
            )
            agents = await self._connection.fetch(
                "SELECT state FROM routing_agents WHERE pool_id = $1 ORDER BY agent_id",
                pool["pool_id"],
            )
            loaded.append(
                PoolRows(
                    pool_id=pool["pool_id"],
                    clock=pool["clock"],
                    contacts=[json.loads(r["state"]) for r in contacts],
                    agents=[json.loads(r["state"]) for r in agents],
                )
            )
        return loaded

    async def save(self, changes: Sequence[PoolChanges], offset: int) -> None:
        connection = self._connection
        await connection.executemany(
            "INSERT INTO routing_pools (pool_id, topic, partition, clock) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (pool_id) DO UPDATE SET topic = $2, partition = $3, clock = $4,"
            " updated_at = now()",
            [(c.pool_id, self._topic, self._partition, c.clock) for c in changes],
        )
        for table, key, rows in (
            ("routing_contacts", "contact_id", [(c.pool_id, c.contacts) for c in changes]),
            ("routing_agents", "agent_id", [(c.pool_id, c.agents) for c in changes]),
        ):
            upserts = [
                (pool_id, item_id, str(snapshot.get("status", "")), json.dumps(snapshot))
                for pool_id, items in rows
                for item_id, snapshot in items.items()
                if snapshot is not None
            ]
            deletes = [
                (pool_id, item_id)
                for pool_id, items in rows
                for item_id, snapshot in items.items()
                if snapshot is None
            ]
            if upserts:
                await connection.executemany(
                    f"INSERT INTO {table} (pool_id, {key}, status, state)"
                    " VALUES ($1, $2, $3, $4::jsonb)"
                    f" ON CONFLICT (pool_id, {key}) DO UPDATE SET status = $3, state = $4::jsonb,"
                    " updated_at = now()",
                    upserts,
                )
            if deletes:
                await connection.executemany(
                    f"DELETE FROM {table} WHERE pool_id = $1 AND {key} = $2", deletes
                )
        await connection.execute(
            'UPDATE routing_offsets SET "offset" = GREATEST("offset", $3), updated_at = now()'
            " WHERE topic = $1 AND partition = $2",
            self._topic,
            self._partition,
            offset,
        )


class PostgresRoutingStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def partition(self, topic: str, partition: int) -> AsyncIterator[RoutingTransaction]:
        async with self._pool.acquire() as connection, connection.transaction():
            transaction = _PostgresTransaction(connection, topic, partition)
            await transaction.lock()
            yield transaction
