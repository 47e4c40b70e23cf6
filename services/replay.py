"""``contactcenter replay``: a pool's recorded routing decisions, reproduced and compared.

Reads the pool's routing partition from the broker (every input and clock tick routing
applied, in order), the committed batches with their processing times from
``routing_batches``, and the decisions the interaction log recorded; re-runs the routing
processor over the same batches with the worker's settings (``streams/routing/replay.py``)
and prints every decision that differs. Exit status 0: identical; 1: differences; 2: what is
needed to replay is not there."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.base import Record
from schemas.topics import ROUTING
from streams.platform.settings import WorkerSettings
from streams.routing.agents import pool_config
from streams.routing.ports import InputRecord
from streams.routing.replay import (
    RecordedBatch,
    UnrecordedInputs,
    compare,
    recorded_record,
    replay_partition,
)
from streams.routing.translate import OUTPUT_TYPES

READ_TIMEOUT_SECONDS = 30.0


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset (Z or ±hh:mm)")
    return moment


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pool", required=True, help="the pool whose decisions to replay")
    parser.add_argument("--from", dest="start", type=_moment, help="compare from (ISO 8601)")
    parser.add_argument("--to", dest="end", type=_moment, help="compare until (ISO 8601)")


class NotReplayable(Exception):
    pass


async def recorded_batches(
    connection: asyncpg.Connection | asyncpg.Pool, topic: str, partition: int
) -> list[RecordedBatch]:
    """The committed batches of a routing partition, from its first input on."""
    rows = await connection.fetch(
        "SELECT after_offset, last_offset, processed_at FROM routing_batches"
        " WHERE topic = $1 AND partition = $2 ORDER BY last_offset",
        topic,
        partition,
    )
    batches = [RecordedBatch(r["after_offset"], r["last_offset"], r["processed_at"]) for r in rows]
    previous = -1
    for batch in batches:
        if batch.after_offset != previous:
            raise NotReplayable(
                f"{topic}[{partition}]: batches after offset {previous} up to"
                f" {batch.after_offset} are not recorded (routing ran before routing_batches"
                " existed?): the pool's state there is unknown"
            )
        previous = batch.last_offset
    if not batches:
        raise NotReplayable(f"no routing batch of {topic}[{partition}] is recorded")
    return batches


async def replay_recorded(
    settings: WorkerSettings, connection: asyncpg.Connection | asyncpg.Pool, partition: int
) -> tuple[list[RecordedBatch], list[InputRecord], list[Record]]:
    """A routing partition's recorded batches, their inputs, and the routing outputs the
    processor makes of them again with the settings given."""
    topic = ROUTING.full_name(settings.topic_prefix)
    batches = await recorded_batches(connection, topic, partition)
    inputs = await read_partition(settings, topic, partition, batches[-1].last_offset)
    replayed = await replay_partition(pool_config(settings), topic, partition, batches, inputs)
    return batches, inputs, replayed


async def _recorded(connection: asyncpg.Connection, pool_id: str) -> tuple[int, dict[str, Record]]:
    partition = await connection.fetchval(
        "SELECT partition FROM routing_pools WHERE pool_id = $1", pool_id
    )
    if partition is None:
        raise NotReplayable(f"pool {pool_id!r} was never routed")
    events = await connection.fetch(
        "SELECT event_id, payload::text AS payload FROM interaction_events"
        " WHERE pool_id = $1 AND type = ANY($2::text[])",
        pool_id,
        sorted(t.TYPE for t in OUTPUT_TYPES.values()),
    )
    recorded = {e["event_id"]: recorded_record(e["payload"]) for e in events}
    return partition, recorded


async def read_partition(
    settings: WorkerSettings, topic: str, partition: int, last: int
) -> list[InputRecord]:
    """The partition's records from its first up to ``last``."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        records: list[InputRecord] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READ_TIMEOUT_SECONDS
        while not records or records[-1].offset < last:
            if loop.time() > deadline:
                raise NotReplayable(f"{topic}[{partition}]: offset {last} not read in time")
            for message in (await consumer.getmany(tp, timeout_ms=500)).get(tp, []):
                if message.offset <= last:
                    records.append(
                        InputRecord(partition, message.offset, message.key, message.value)
                    )
        return records
    finally:
        await consumer.stop()


async def replay(args: argparse.Namespace, settings: WorkerSettings) -> int:
    topic = ROUTING.full_name(settings.topic_prefix)
    connection = await asyncpg.connect(settings.require_database_url())
    try:
        partition, recorded = await _recorded(connection, args.pool)
        batches, inputs, replayed = await replay_recorded(settings, connection, partition)
    finally:
        await connection.close()
    differences = compare(recorded, replayed, pool_id=args.pool, start=args.start, end=args.end)
    compared = len({r.event_id for r in replayed if getattr(r, "pool_id", None) == args.pool})
    print(
        f"pool {args.pool}: {len(batches)} batches, {len(inputs)} inputs of {topic}[{partition}],"
        f" {compared} decisions replayed, {len(recorded)} recorded"
    )
    for difference in differences:
        print(difference.describe())
    print("identical" if not differences else f"{len(differences)} decisions differ")
    return 0 if not differences else 1


def run(args: argparse.Namespace, settings: WorkerSettings) -> int:
    try:
        return asyncio.run(replay(args, settings))
    except (NotReplayable, UnrecordedInputs) as exc:
        print(f"contactcenter replay: {exc}", file=sys.stderr)
        return 2
