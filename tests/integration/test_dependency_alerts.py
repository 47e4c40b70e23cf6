"""A broker outage is never silent: a worker, a gateway, a desk and a notifier (real child
processes) on a broker of the test's own, scraped by a real Prometheus that evaluates the
project's alert rules (each ``for:`` scaled down, see tests/support/rules.py).

* The broker frozen (SIGSTOP: its port still completes TCP handshakes, nothing answers): every
  ``/readyz`` answers 503 on its first request, within the readiness deadline.
* The broker killed: ``BrokerUnreachable`` (worth the four processes) and ``ReadinessLost`` (one
  per process) fire, each only after its ``for:``, and every ``/readyz`` says why.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from services.runtime.broker import LocalBroker, free_port
from services.runtime.processes import start_command, stop
from services.runtime.prometheus import PrometheusServer, prometheus_binary, values
from streams.platform.settings import Settings
from streams.platform.topics import ensure_topics
from tests.support.ops import get_json, readiness, wait_readiness, wait_serving
from tests.support.rules import scaled_rules
from tests.support.workers import eventually

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(prometheus_binary() is None, reason="prometheus is not installed"),
]

DEADLINE = 1.0  # the readiness deadline of every process
FOR_SCALE = 1 / 15  # 1m → 4 s
JOBS = ("worker", "gateway", "desk", "notifier")


@contextmanager
def the_processes(settings: Settings, logs: Path) -> Iterator[dict[str, int]]:
    """The four kinds of process; job → the port of its /metrics and /readyz."""
    ports = {job: free_port() for job in JOBS}
    notifier_port = free_port()
    overrides: dict[str, dict[str, object]] = {
        "worker": {"metrics_port": ports["worker"]},
        "gateway": {"gateway_port": ports["gateway"], "smtp_port": 0},
        "desk": {"desk_port": ports["desk"]},
        "notifier": {
            "notifier_metrics_port": ports["notifier"],
            "notifier_port": notifier_port,
            "notifier_public_url": f"http://127.0.0.1:{notifier_port}",
        },
    }
    with ExitStack() as stack:
        for job, more in overrides.items():
            stack.callback(stop, start_command(job, settings, logs / f"{job}.log", **more))
        yield ports


def alerts(prometheus: PrometheusServer) -> list[dict[str, Any]]:
    return list(prometheus.api("alerts")["alerts"])


def firing(prometheus: PrometheusServer, name: str) -> list[dict[str, Any]]:
    return [
        a for a in alerts(prometheus) if a["labels"]["alertname"] == name and a["state"] == "firing"
    ]


def waited_since_active(alert: dict[str, Any]) -> float:
    active = datetime.fromisoformat(alert["activeAt"].replace("Z", "+00:00"))
    return time.time() - active.timestamp()


async def test_a_frozen_or_killed_broker_makes_every_process_not_ready_and_fires_alerts(
    database_url: str, tmp_path: Path
) -> None:
    broker = LocalBroker().start()
    rendered = scaled_rules(tmp_path / "alerts.yml", FOR_SCALE)
    try:
        prefix = "deps."
        await ensure_topics(broker.bootstrap_servers, prefix)
        settings = Settings(
            KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers,
            DATABASE_URL=database_url,
            topic_prefix=prefix,
            app_id="cc-deps",
            state_dir=str(tmp_path / "state"),
            twilio_auth_token="deps-test-token",
            worker_shutdown_timeout=3.0,
            readiness_deadline_seconds=DEADLINE,
            dependency_probe_interval_seconds=0.5,
        )
        with the_processes(settings, tmp_path) as ports:
            for job, port in ports.items():
                await wait_serving(port, job)
                await wait_readiness(port, 200, job)
            prometheus = PrometheusServer(
                tmp_path / "prometheus",
                {job: [port] for job, port in ports.items()},
                rule_files=[tmp_path / "alerts.yml"],
                interval=0.5,
            )
            with prometheus:
                await asyncio.to_thread(prometheus.wait_scraping)

                async def all_ready() -> bool:
                    ready = values(prometheus.query("contactcenter_ready"))
                    return sorted(dict(k)["job"] for k, v in ready.items() if v == 1) == sorted(
                        JOBS
                    )

                await eventually(all_ready, 20, "every process to export ready")
                assert firing(prometheus, "BrokerUnreachable") == []

                # frozen: the first /readyz of each process already says not ready
                broker.freeze()
                try:
                    for job, port in ports.items():
                        status, body = await readiness(port)
                        assert status == 503, (job, body)
                        assert body["problems"] == [
                            f"broker unreachable ({broker.bootstrap_servers})"
                        ]
                        assert get_json(port, "/healthz") == (200, {"status": "ok"})
                finally:
                    broker.thaw()
                for job, port in ports.items():
                    await wait_readiness(port, 200, f"{job} with the broker thawed")

                # killed: both alerts fire, each after its for:, and every process says why
                broker.kill()

                async def both_fire() -> bool:
                    return bool(firing(prometheus, "BrokerUnreachable")) and len(
                        firing(prometheus, "ReadinessLost")
                    ) == len(JOBS)

                await eventually(both_fire, 60, "BrokerUnreachable and ReadinessLost to fire")
                (broker_alert,) = firing(prometheus, "BrokerUnreachable")
                assert float(broker_alert["value"]) == len(JOBS)
                assert waited_since_active(broker_alert) >= rendered["BrokerUnreachable"]
                lost = firing(prometheus, "ReadinessLost")
                assert sorted(a["labels"]["job"] for a in lost) == sorted(JOBS)
                for alert in lost:
                    assert waited_since_active(alert) >= rendered["ReadinessLost"]
                for job, port in ports.items():
                    status, body = await readiness(port)
                    assert status == 503, (job, body)
                    assert f"broker unreachable ({broker.bootstrap_servers})" in body["problems"]
    finally:
        broker.stop()
