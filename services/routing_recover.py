"""``contactcenter routing-recover``: let routing go on after its log went backwards.

Routing stops a partition when it finds inputs at or below its stored offset that it never
applied (a broker restarted empty, a topic recreated, a cluster restored) and records the
regression (``routing_offset_regressions``). This command, for each open regression (all, or
the partitions named, or those of the pools named), in one transaction per partition:

* moves the stored offset back to just before the lowest offset holding an input never applied
  (or before ``--from-offset``), so routing applies the new log from there; inputs it already
  applied that the new log holds again are recognised by their event id (remembered for
  ``CC_ROUTING_INPUT_MEMORY_SECONDS``) and applied once only;
* removes the ``routing_batches`` rows of offsets the new log reuses (they describe the log that
  is gone; ``contactcenter replay`` cannot use them);
* closes the regression with what it did.

A partition without an open regression is left alone: the command never moves a healthy
partition's offset.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

import asyncpg

from schemas.topics import ROUTING
from streams.platform.settings import WorkerSettings

OPEN_REGRESSIONS = """
SELECT id, partition, stored_offset, first_unseen FROM routing_offset_regressions
WHERE topic = $1 AND recovered_at IS NULL
  AND ($2::int[] IS NULL OR partition = ANY($2))
  AND ($3::text[] IS NULL OR partition IN (
      SELECT partition FROM routing_pools WHERE topic = $1 AND pool_id = ANY($3)))
ORDER BY partition
FOR UPDATE
"""

MOVE_OFFSET = """
UPDATE routing_offsets SET "offset" = $3, batch_until = $3, batch_time = NULL, updated_at = now()
WHERE topic = $1 AND partition = $2
"""

FORGET_LOST_BATCHES = (
    "DELETE FROM routing_batches WHERE topic = $1 AND partition = $2 AND last_offset > $3"
)

CLOSE = """
UPDATE routing_offset_regressions
SET recovered_at = now(), resumed_after = $2, removed_batches = $3 WHERE id = $1
"""


@dataclass(frozen=True)
class Recovered:
    partition: int
    stored_offset: int
    resumed_after: int
    removed_batches: int


def add_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--partition", type=int, action="append", help="a routing partition (repeatable)"
    )
    command.add_argument("--pool", action="append", help="the partition of this pool (repeatable)")
    command.add_argument(
        "--from-offset",
        type=int,
        help="apply the new log from this offset (default: its lowest input never applied)",
    )


async def recover(
    database_url: str,
    topic: str,
    *,
    partitions: list[int] | None = None,
    pools: list[str] | None = None,
    from_offset: int | None = None,
) -> list[Recovered]:
    """Recover every open regression of ``topic`` selected; return what was done."""
    connection = await asyncpg.connect(database_url)
    done: list[Recovered] = []
    try:
        async with connection.transaction():
            for row in await connection.fetch(OPEN_REGRESSIONS, topic, partitions, pools):
                start = row["first_unseen"] if from_offset is None else from_offset
                resumed_after = start - 1
                await connection.execute(MOVE_OFFSET, topic, row["partition"], resumed_after)
                status = await connection.execute(
                    FORGET_LOST_BATCHES, topic, row["partition"], resumed_after
                )
                removed = int(status.split()[-1])
                await connection.execute(CLOSE, row["id"], resumed_after, removed)
                done.append(
                    Recovered(row["partition"], row["stored_offset"], resumed_after, removed)
                )
    finally:
        await connection.close()
    return done


def run(args: argparse.Namespace, settings: WorkerSettings) -> int:
    topic = ROUTING.full_name(settings.topic_prefix)
    done = asyncio.run(
        recover(
            settings.require_database_url(),
            topic,
            partitions=args.partition,
            pools=args.pool,
            from_offset=args.from_offset,
        )
    )
    if not done:
        print(f"no open offset regression on {topic} matches", file=sys.stderr)
        return 1
    for item in done:
        print(
            f"{topic}[{item.partition}]: stored offset {item.stored_offset} moved back to"
            f" {item.resumed_after}; {item.removed_batches} batch record(s) of the lost log"
            " removed; routing resumes with the next input"
        )
    return 0
