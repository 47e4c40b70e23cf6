"""Gauges the log feeds: service level and occupancy from its SQL views, consumer lag."""

from __future__ import annotations

from typing import Any

import asyncpg

from streams.interaction_log.sql import OCCUPANCY_NOW, SERVICE_LEVEL_CONFIG, SERVICE_LEVEL_NOW
from streams.platform import metrics


async def refresh_service_level(pool: asyncpg.Pool) -> None:
    """Set the service-level and occupancy gauges from the log (the last hour) and the
    configured targets."""
    async with pool.acquire() as connection:
        config = await connection.fetch(SERVICE_LEVEL_CONFIG)
        rows = await connection.fetch(SERVICE_LEVEL_NOW)
        occupancy = await connection.fetch(OCCUPANCY_NOW)
    metrics.replace_gauge(
        metrics.OCCUPANCY,
        {(r["pool_id"],): r["occupancy"] for r in occupancy if r["occupancy"] is not None},
    )
    for row in config:
        if row["customer_class"] == "*":
            metrics.SERVICE_LEVEL_THRESHOLD.set(row["threshold_seconds"])
        else:
            metrics.SERVICE_LEVEL_TARGET.labels(customer_class=row["customer_class"]).set(
                row["target_ratio"]
            )
    default_target = next((r["target_ratio"] for r in config if r["customer_class"] == "*"), None)
    for row in rows:
        if default_target is not None and row["customer_class"] not in {
            r["customer_class"] for r in config
        }:
            metrics.SERVICE_LEVEL_TARGET.labels(customer_class=row["customer_class"]).set(
                default_target
            )
    metrics.replace_gauge(
        metrics.SERVICE_LEVEL,
        {
            (row["customer_class"], row["channel"], variant): row[variant]
            for row in rows
            for variant in ("answered", "abandons")
            if row[variant] is not None
        },
    )


def update_consumer_lag(consumer: Any, prefix: str = "") -> None:
    """``contactcenter_consumer_lag_messages`` for every partition this worker holds: the
    partition's high watermark minus the next offset to commit."""
    for tp in consumer.assignment():
        try:
            highwater = consumer.highwater(tp)
        except Exception:
            continue
        if highwater is None:
            continue
        # faust keeps the last committed offset per partition only here (no public accessor)
        committed = consumer._committed_offset.get(tp)
        position = 0 if committed is None else committed + 1
        metrics.CONSUMER_LAG.labels(
            topic=metrics.topic_label(tp.topic, prefix), partition=str(tp.partition)
        ).set(max(0, highwater - position))
