"""Routing state in PostgreSQL: pool rows, remembered ids and the input offsets they reflect,
in one transaction; each statement carries a whole batch (arrays unnested), so a batch costs
a fixed number of round trips whatever its size."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg

from streams.routing.ports import (
    BatchClaimLost,
    OffsetRegression,
    PoolChanges,
    PoolRows,
    RoutingTransaction,
    Snapshot,
)

# Reuse the claimed time while some inputs it covers may be out uncommitted (offset below
# batch_until), extending it to this batch; else claim ``now`` for this batch. SET sees the old
# row in every expression.
CLAIM_BATCH = """
INSERT INTO routing_offsets AS o (topic, partition, "offset", batch_until, batch_time)
VALUES ($1, $2, -1, $5, $3)
ON CONFLICT (topic, partition) DO UPDATE SET
    batch_time = CASE WHEN o.batch_until > o."offset" AND o.batch_time IS NOT NULL AND NOT $4
                      THEN o.batch_time ELSE $3 END,
    batch_until = CASE WHEN o.batch_until > o."offset" AND o.batch_time IS NOT NULL AND NOT $4
                       THEN GREATEST(o.batch_until, $5) ELSE $5 END
RETURNING "offset", batch_time
"""

LOCK_OFFSET = 'SELECT "offset" FROM routing_offsets WHERE topic = $1 AND partition = $2 FOR UPDATE'

SAVE_POOLS = """
INSERT INTO routing_pools AS p
    (pool_id, topic, partition, clock, estimator, predicted_waits, policy, moved, serving)
SELECT pool_id, $1, $2, clock, estimator::jsonb, predicted::jsonb, policy::jsonb, moved::jsonb,
    serving::jsonb
FROM unnest($3::text[], $4::float8[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
    AS u(pool_id, clock, estimator, predicted, policy, moved, serving)
ON CONFLICT (pool_id) DO UPDATE SET topic = EXCLUDED.topic, partition = EXCLUDED.partition,
    clock = EXCLUDED.clock, estimator = coalesce(EXCLUDED.estimator, p.estimator),
    predicted_waits = coalesce(EXCLUDED.predicted_waits, p.predicted_waits),
    policy = coalesce(EXCLUDED.policy, p.policy), moved = coalesce(EXCLUDED.moved, p.moved),
    serving = coalesce(EXCLUDED.serving, p.serving), updated_at = now()
"""

UPSERT_ROWS = """
INSERT INTO {table} (pool_id, {key}, status, state)
SELECT pool_id, item_id, status, state::jsonb
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(pool_id, item_id, status, state)
ON CONFLICT (pool_id, {key}) DO UPDATE SET status = EXCLUDED.status, state = EXCLUDED.state,
    updated_at = now()
"""

DELETE_ROWS = """
DELETE FROM {table} t USING unnest($1::text[], $2::text[]) AS u(pool_id, item_id)
WHERE t.pool_id = u.pool_id AND t.{key} = u.item_id
"""

REMEMBER = """
INSERT INTO routing_memory (pool_id, kind, item_id, at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[])
ON CONFLICT DO NOTHING
"""

FORGET = """
DELETE FROM routing_memory m
USING unnest($1::text[], $2::text[], $3::float8[]) AS u(pool_id, kind, before)
WHERE m.pool_id = u.pool_id AND m.kind = u.kind AND m.at < u.before
"""

# advances the offset and records the batch (the inputs after the stored offset, with their
# processing time) for replay, in one statement
ADVANCE_OFFSET = """
WITH recorded AS (
    INSERT INTO routing_batches (topic, partition, after_offset, last_offset, processed_at)
    VALUES ($1, $2, $4, $3, $5) ON CONFLICT DO NOTHING
)
UPDATE routing_offsets SET "offset" = GREATEST("offset", $3), updated_at = now()
WHERE topic = $1 AND partition = $2
"""


APPLIED_INPUTS = """
SELECT m.pool_id, m.item_id FROM routing_memory m
JOIN unnest($1::text[], $2::text[]) AS u(pool_id, item_id) USING (pool_id, item_id)
WHERE m.kind = 'input'
"""

# one open regression per partition (recovered_at IS NULL), its lowest unseen offset kept
RECORD_REGRESSION = """
INSERT INTO routing_offset_regressions AS r (topic, partition, stored_offset, first_unseen)
VALUES ($1, $2, $3, $4)
ON CONFLICT (topic, partition) WHERE recovered_at IS NULL DO UPDATE SET
    first_unseen = LEAST(r.first_unseen, EXCLUDED.first_unseen), last_seen_at = now()
"""


async def record_regression(pool: asyncpg.Pool, regression: OffsetRegression) -> None:
    """Keep what the processor found, for ``contactcenter routing-recover`` (outside the
    batch's transaction, which rolled back)."""
    await pool.execute(
        RECORD_REGRESSION,
        regression.topic,
        regression.partition,
        regression.stored_offset,
        regression.first_unseen,
    )


class _PostgresTransaction:
    def __init__(
        self, connection: asyncpg.Connection, topic: str, partition: int, processed_at: float
    ) -> None:
        self._connection = connection
        self._topic = topic
        self._partition = partition
        self._stored_offset = -1
        self._processed_at = processed_at

    @property
    def stored_offset(self) -> int:
        return self._stored_offset

    @property
    def processed_at(self) -> float:
        return self._processed_at

    async def lock(self) -> None:
        self._stored_offset = await self._connection.fetchval(
            LOCK_OFFSET, self._topic, self._partition
        )

    async def load_pools(self) -> list[PoolRows]:
        pools = await self._connection.fetch(
            "SELECT pool_id, clock, estimator, policy, moved FROM routing_pools"
            " WHERE topic = $1 AND partition = $2"
            " ORDER BY pool_id",
            self._topic,
            self._partition,
        )
        loaded: list[PoolRows] = []
        for pool in pools:
            pool_id = pool["pool_id"]
            contacts = await self._connection.fetch(
                "SELECT state FROM routing_contacts WHERE pool_id = $1 ORDER BY contact_id",
                pool_id,
            )
            agents = await self._connection.fetch(
                "SELECT state FROM routing_agents WHERE pool_id = $1 ORDER BY agent_id", pool_id
            )
            remembered = await self._connection.fetch(
                "SELECT kind, item_id, at FROM routing_memory WHERE pool_id = $1"
                " ORDER BY at, item_id",
                pool_id,
            )
            loaded.append(
                PoolRows(
                    pool_id=pool_id,
                    clock=pool["clock"],
                    contacts=[json.loads(r["state"]) for r in contacts],
                    agents=[json.loads(r["state"]) for r in agents],
                    inputs=[(r["item_id"], r["at"]) for r in remembered if r["kind"] == "input"],
                    finished=[
                        (r["item_id"], r["at"]) for r in remembered if r["kind"] == "finished"
                    ],
                    estimator=_json_or_none(pool["estimator"]),
                    policy=_json_or_none(pool["policy"]),
                    moved=_json_or_none(pool["moved"]),
                )
            )
        return loaded

    async def save(self, changes: Sequence[PoolChanges], offset: int) -> None:
        connection = self._connection
        if changes:
            await connection.execute(
                SAVE_POOLS,
                self._topic,
                self._partition,
                [c.pool_id for c in changes],
                [c.clock for c in changes],
                [_json_text(c.estimator) for c in changes],
                [_json_text(c.predicted_waits) for c in changes],
                [_json_text(c.policy) for c in changes],
                [_json_text(c.moved) for c in changes],
                [_json_text(c.serving) for c in changes],
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
                await connection.execute(
                    UPSERT_ROWS.format(table=table, key=key), *_columns(upserts, 4)
                )
            if deletes:
                await connection.execute(
                    DELETE_ROWS.format(table=table, key=key), *_columns(deletes, 2)
                )
        await self._remember(changes)
        await connection.execute(
            ADVANCE_OFFSET,
            self._topic,
            self._partition,
            offset,
            self._stored_offset,
            self._processed_at,
        )

    async def applied_inputs(self, inputs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        if not inputs:
            return set()
        rows = await self._connection.fetch(APPLIED_INPUTS, *_columns(inputs, 2))
        return {(r["pool_id"], r["item_id"]) for r in rows}

    async def _remember(self, changes: Sequence[PoolChanges]) -> None:
        remembered = [
            (c.pool_id, kind, item_id, at)
            for c in changes
            for kind, items in (("input", c.inputs), ("finished", c.finished))
            for item_id, at in items.items()
        ]
        if remembered:
            await self._connection.execute(REMEMBER, *_columns(remembered, 4))
        horizons = [
            (c.pool_id, kind, before)
            for c in changes
            for kind, before in (
                ("input", c.forget_inputs_before),
                ("finished", c.forget_finished_before),
            )
            if before != float("-inf")
        ]
        if horizons:
            await self._connection.execute(FORGET, *_columns(horizons, 3))


def _json_text(value: object) -> str | None:
    return None if value is None else json.dumps(value)


def _json_or_none(text: str | None) -> Snapshot | None:
    return None if text is None else dict(json.loads(text))


def _columns(rows: Sequence[tuple[object, ...]], width: int) -> list[list[object]]:
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


class PostgresRoutingStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def partition(
        self, topic: str, partition: int, *, now: float, until: int, renew: bool = False
    ) -> AsyncIterator[RoutingTransaction]:
        async with self._pool.acquire() as connection:
            claimed = await connection.fetchrow(CLAIM_BATCH, topic, partition, now, renew, until)
            async with connection.transaction():
                transaction = _PostgresTransaction(
                    connection, topic, partition, claimed["batch_time"]
                )
                await transaction.lock()
                if transaction.stored_offset != claimed["offset"]:
                    raise BatchClaimLost(
                        f"{topic}[{partition}] moved from offset {claimed['offset']}"
                        f" to {transaction.stored_offset} since the batch was claimed"
                    )
                yield transaction
