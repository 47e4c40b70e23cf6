"""A pool handed from one worker to another keeps LongestWaitTooLong firing.

Worker A routes a pool where a contact waits (no agent); a real Prometheus scraping every
0.5 s evaluates the project's rules (``for:`` scaled by 1/10, LongestWaitTooLong's 120 s
threshold lowered to 2 s: tests/support/rules.py) until the alert fires. Worker B joins and A
stops: the pool's series leaves A and reappears on B after the rebalance, missing meanwhile.
The alert stays firing throughout, with the same ``activeAt``: the gap does not reset its
``for:``.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from schemas import contacts as ct
from schemas.topics import CONTACTS
from services.bus import open_bus
from services.runtime.broker import free_port
from services.runtime.processes import start_command, stop
from services.runtime.prometheus import PrometheusServer, prometheus_binary
from streams.platform.settings import Settings
from tests.support.rules import scaled_rules
from tests.support.workers import eventually

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(prometheus_binary() is None, reason="prometheus is not installed"),
]

POOL = "handover"
ALERT = "LongestWaitTooLong"


def longest_wait_alerts(prometheus: PrometheusServer) -> list[dict[str, Any]]:
    return [
        a
        for a in prometheus.api("alerts")["alerts"]
        if a["labels"]["alertname"] == ALERT and a["labels"].get("pool") == POOL
    ]


def owners(prometheus: PrometheusServer) -> set[str]:
    """Instances exporting the pool's longest wait now."""
    query = f'contactcenter_queue_longest_wait_seconds{{pool="{POOL}"}}'
    return {s["metric"]["instance"] for s in prometheus.query(query)}


async def test_a_pool_handed_between_workers_keeps_longest_wait_firing(
    settings: Settings, tmp_path: Path
) -> None:
    rendered = scaled_rules(
        tmp_path / "alerts.yml", 1 / 10, thresholds={ALERT: (") > 120", ") > 2")}
    )
    ports = {"a": free_port(), "b": free_port()}
    worker_a = start_command("worker", settings, tmp_path / "a.log", metrics_port=ports["a"])
    worker_b = None
    prometheus = PrometheusServer(
        tmp_path / "prometheus",
        {"worker": list(ports.values())},
        rule_files=[tmp_path / "alerts.yml"],
        interval=0.5,
    ).start()
    try:
        async with open_bus(settings.kafka_bootstrap_servers, settings.topic_prefix) as bus:
            waiting = ct.ContactArrived(pool_id=POOL, contact_id="w1", channel=ct.Channel.SMS)
            await bus.publish(CONTACTS, "w1", waiting)

        async def fires() -> bool:
            return [a["state"] for a in longest_wait_alerts(prometheus)] == ["firing"]

        await eventually(fires, 90, f"{ALERT} to fire with worker A")
        (before,) = longest_wait_alerts(prometheus)
        active = datetime.fromisoformat(before["activeAt"].replace("Z", "+00:00")).timestamp()
        assert time.time() - active >= rendered[ALERT]
        assert owners(prometheus) == {f"127.0.0.1:{ports['a']}"}

        # B joins, A stops: every partition, the pool's included, moves to B
        worker_b = start_command("worker", settings, tmp_path / "b.log", metrics_port=ports["b"])
        await asyncio.sleep(3)  # B is joining the group
        await asyncio.to_thread(stop, worker_a)
        states: list[str] = []
        gaps = 0

        async def on_b() -> bool:
            nonlocal gaps
            alerts = longest_wait_alerts(prometheus)
            states.append(",".join(a["state"] for a in alerts) or "none")
            exported = owners(prometheus)
            gaps += not exported
            return exported == {f"127.0.0.1:{ports['b']}"}

        await eventually(on_b, 90, "worker B to export the pool's longest wait", interval=0.25)
        await asyncio.sleep(2)  # a few more evaluations with B's series
        (after,) = longest_wait_alerts(prometheus)
        assert after["state"] == "firing"
        assert after["activeAt"] == before["activeAt"]  # for: not reset by the handover
        assert set(states) == {"firing"}, states
        assert gaps > 0  # the pool's series was missing for a while: the rule bridged it
    finally:
        prometheus.stop()
        for worker in (worker_a, worker_b):
            if worker is not None:
                stop(worker)
