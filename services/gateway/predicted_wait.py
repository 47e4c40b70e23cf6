"""The wait routing predicts for a caller, read where routing stores it.

Routing's owner of a pool writes its prediction for a new arrival of every class and channel
into ``routing_pools`` in the same transaction as the pool's state (so it is exactly as fresh
as the committed state and survives restarts); the gateway reads it through the view
``routing_predicted_waits``, the typed contract that keeps routing's JSON its own."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

READ = """
SELECT predicted_wait_seconds FROM routing_predicted_waits
WHERE pool_id = $1 AND customer_class = $2 AND channel = $3
"""


@dataclass(frozen=True)
class PredictedWait:
    """``seconds`` None: unbounded (no ready agent serves the channel)."""

    seconds: float | None

    def exceeds(self, threshold_seconds: float) -> bool:
        return self.seconds is None or self.seconds > threshold_seconds


class PredictedWaits:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def for_arrival(
        self, pool_id: str, customer_class: str, channel: str
    ) -> PredictedWait | None:
        """The prediction for a contact arriving now; None when routing has not predicted
        for this pool, class and channel yet (a pool it never routed, an unknown class)."""
        async with self._pool.acquire() as connection:
            row = await connection.fetchrow(READ, pool_id, customer_class, channel)
        return None if row is None else PredictedWait(row["predicted_wait_seconds"])
