"""A broker restarted empty is never silent, and its recovery applies nothing twice.

A worker (a real child process) routes a few contacts on a broker of the test's own; the
broker is killed and a new, empty one starts on the same port (its logs start at offset 0
again, below routing's stored offsets), the worker restarted with it. A contact accepted
afterwards is neither routed nor skipped: the partition stops, ``RoutingOffsetRegression``
fires on a real Prometheus after its ``for:`` (scaled, see tests/support/rules.py) and the
regression is recorded. An input routing applied before the restart is then published again
into the new log. After ``contactcenter routing-recover --pool`` (the documented recovery, run
as the command) the new contact is routed, and the old input is recognised by its event id and
not applied a second time.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from schemas import agents as ag
from schemas import contacts as ct
from schemas.topics import AGENT_EVENTS, CONTACTS
from services.bus import open_bus
from services.runtime.broker import LocalBroker, free_port
from services.runtime.processes import start_command, stop
from services.runtime.prometheus import PrometheusServer, prometheus_binary, values
from streams.platform.settings import Settings, child_environment
from streams.platform.topics import ensure_topics
from tests.support.rules import scaled_rules
from tests.support.workers import eventually

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(prometheus_binary() is None, reason="prometheus is not installed"),
]

POOL = "regress"
FOR_SCALE = 1 / 10  # 30 s → 3 s
ROW = "SELECT status, state FROM routing_contacts WHERE pool_id = $1 AND contact_id = $2"


def arrival(contact: str) -> ct.ContactArrived:
    return ct.ContactArrived(
        pool_id=POOL, contact_id=contact, channel=ct.Channel.EMAIL, event_id=f"arr-{contact}"
    )


def alert_states(prometheus: PrometheusServer, name: str) -> list[dict[str, Any]]:
    return [a for a in prometheus.api("alerts")["alerts"] if a["labels"]["alertname"] == name]


async def test_a_broker_restarted_empty_stops_routing_until_recovered_and_nothing_twice(
    database_url: str, tmp_path: Path
) -> None:
    broker = LocalBroker().start()
    rendered = scaled_rules(tmp_path / "alerts.yml", FOR_SCALE)
    prefix = "regress."
    settings = Settings(
        KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers,
        DATABASE_URL=database_url,
        topic_prefix=prefix,
        app_id="cc-regress",
        state_dir=str(tmp_path / "state"),
        worker_shutdown_timeout=3.0,
        offer_timeout_seconds=3600.0,
        routing_regression_recheck_seconds=0.5,
    )
    port = free_port()
    db = await asyncpg.connect(database_url)

    async def routed() -> set[str]:
        rows = await db.fetch("SELECT contact_id FROM routing_contacts WHERE pool_id = $1", POOL)
        return {r["contact_id"] for r in rows}

    try:
        await ensure_topics(broker.bootstrap_servers, prefix)
        worker = start_command("worker", settings, tmp_path / "worker.log", metrics_port=port)
        prometheus = PrometheusServer(
            tmp_path / "prometheus",
            {"worker": [port]},
            rule_files=[tmp_path / "alerts.yml"],
            interval=0.5,
        )
        try:
            async with open_bus(broker.bootstrap_servers, prefix) as bus:
                await bus.publish(AGENT_EVENTS, "a1", ag.AgentLoggedIn(pool_id=POOL, agent_id="a1"))
                await bus.publish(AGENT_EVENTS, "a1", ag.AgentReady(pool_id=POOL, agent_id="a1"))
                for contact in ("c0", "c1", "c2"):
                    await bus.publish(CONTACTS, contact, arrival(contact))

                async def first_routed() -> bool:
                    return await routed() == {"c0", "c1", "c2"}

                await eventually(first_routed, 90, "the first contacts routed")

            # the broker dies and an empty one takes its place: every log starts at 0 again.
            # The worker restarts with it (as after a cluster restore): a consumer that stays
            # up keeps its fetch positions, and the local broker, unlike Apache Kafka, does not
            # answer a fetch beyond its log's end with "offset out of range", so that consumer
            # would wait for the new log to reach its old position. Topics exist with their
            # partitions before the worker connects (a client's metadata request would create
            # them implicitly, with the broker's default partitions: the runbook's first step)
            await asyncio.to_thread(stop, worker)
            broker.kill()
            broker = LocalBroker(port=broker.port).start()
            await ensure_topics(broker.bootstrap_servers, prefix)
            worker = start_command("worker", settings, tmp_path / "worker.log", metrics_port=port)
            prometheus.start()
            async with open_bus(broker.bootstrap_servers, prefix) as bus:
                await bus.publish(CONTACTS, "c3", arrival("c3"))

            async def regression_fires() -> bool:
                return any(
                    a["state"] == "firing"
                    for a in alert_states(prometheus, "RoutingOffsetRegression")
                )

            await eventually(regression_fires, 120, "RoutingOffsetRegression to fire")
            (alert,) = alert_states(prometheus, "RoutingOffsetRegression")
            active = datetime.fromisoformat(alert["activeAt"].replace("Z", "+00:00"))
            assert time.time() - active.timestamp() >= rendered["RoutingOffsetRegression"]
            assert await routed() == {"c0", "c1", "c2"}  # c3 held, neither routed nor lost
            (regression,) = await db.fetch(
                "SELECT partition, stored_offset, first_unseen FROM routing_offset_regressions"
                " WHERE recovered_at IS NULL"
            )
            assert regression["first_unseen"] <= regression["stored_offset"]
            assert alert["labels"]["partition"] == str(regression["partition"])

            # an input routing applied before the restart, in the new log after c3: once only
            c0_before = await db.fetchrow(ROW, POOL, "c0")
            async with open_bus(broker.bootstrap_servers, prefix) as bus:
                await bus.publish(CONTACTS, "c0", arrival("c0"))

            # the documented recovery
            recovery = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "services.cli", "routing-recover", "--pool", POOL],
                env=child_environment(
                    settings.with_values(kafka_bootstrap_servers=broker.bootstrap_servers)
                ),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert recovery.returncode == 0, recovery.stderr
            assert f"[{regression['partition']}]: stored offset" in recovery.stdout

            async def c3_routed() -> bool:
                return await routed() == {"c0", "c1", "c2", "c3"}

            await eventually(c3_routed, 30, "the held contact routed after the recovery")

            async def recognised_once() -> bool:
                redelivered = values(
                    prometheus.query(
                        f'contactcenter_routing_redelivered_inputs_total{{pool="{POOL}"}}'
                    )
                )
                return list(redelivered.values()) == [1.0]

            await eventually(recognised_once, 20, "c0's arrival recognised as applied, once")
            assert await db.fetchrow(ROW, POOL, "c0") == c0_before  # its state untouched

            async def resolved() -> bool:
                gauge = values(prometheus.query("max(contactcenter_routing_offset_regression)"))
                return list(gauge.values()) == [0.0]

            await eventually(resolved, 20, "the regression gauge back to 0")
            closed = await db.fetchval(
                "SELECT count(*) FROM routing_offset_regressions WHERE recovered_at IS NOT NULL"
            )
            assert closed == 1
            assert worker.poll() is None
        finally:
            prometheus.stop()
            stop(worker)
    finally:
        await db.close()
        broker.stop()
