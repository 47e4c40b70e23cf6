"""The service-level gauge follows the interaction log: a class and channel whose contacts
leave the reporting window disappears from the gauge instead of keeping its last value."""

from __future__ import annotations

import asyncpg
import pytest

from streams.interaction_log.gauges import refresh_service_level
from streams.platform import ops_server
from tests.support.metrics import parse_exposition

pytestmark = pytest.mark.integration

ANSWERED = """
INSERT INTO contacts (contact_id, pool_id, channel, customer_class, arrived_at, answered_at,
                      wait_seconds)
VALUES ($1, 'p1', $2, $3, now() - interval '5 minutes', now() - interval '4 minutes', $4)
"""


def service_levels() -> dict[tuple[str, str, str], float]:
    samples = parse_exposition(ops_server.render()[0].decode())
    return {
        (labels["customer_class"], labels["channel"], labels["variant"]): value
        for (name, frozen), value in samples.items()
        if name == "contactcenter_service_level_ratio"
        for labels in [dict(frozen)]
    }


async def test_a_class_and_channel_without_rows_in_the_window_leaves_the_gauge(
    database_url: str,
) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        await pool.execute(ANSWERED, "c1", "voice", "vip", 60.0)  # late: 20 s threshold
        await pool.execute(ANSWERED, "c2", "chat", "standard", 5.0)
        await refresh_service_level(pool)
        assert service_levels() == {
            ("vip", "voice", "answered"): 0.0,
            ("vip", "voice", "abandons"): 0.0,
            ("standard", "chat", "answered"): 1.0,
            ("standard", "chat", "abandons"): 1.0,
        }

        # the VIP call is now older than the window: its series goes, the other stays
        await pool.execute(
            "UPDATE contacts SET arrived_at = arrived_at - interval '3 hours',"
            " answered_at = answered_at - interval '3 hours' WHERE contact_id = 'c1'"
        )
        await refresh_service_level(pool)
        assert service_levels() == {
            ("standard", "chat", "answered"): 1.0,
            ("standard", "chat", "abandons"): 1.0,
        }
    finally:
        await pool.close()
