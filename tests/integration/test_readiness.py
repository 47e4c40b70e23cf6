"""/readyz tells the truth: a gateway and a worker (real child processes) on a broker of the
test's own, with PostgreSQL behind a proxy the test can cut. Each answers 503 with the reason
while its broker or its database is away, and ready again once it is back; /healthz (liveness)
answers 200 throughout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.harness.pg_proxy import SwitchableProxy
from services.runtime.broker import LocalBroker, free_port
from services.runtime.processes import start_command, stop
from streams.platform.settings import Settings
from streams.platform.topics import ensure_topics
from tests.support.ops import get_json, wait_readiness, wait_serving

pytestmark = pytest.mark.integration


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[SwitchableProxy]:
    front = SwitchableProxy(database_url)
    await front.start()
    yield front
    if front._server is not None:
        await front.cut()


async def test_readyz_is_503_with_the_reason_while_the_broker_or_database_is_away(
    proxy: SwitchableProxy, tmp_path: Path
) -> None:
    broker = LocalBroker().start()
    try:
        prefix = "ready."
        await ensure_topics(broker.bootstrap_servers, prefix)
        settings = Settings(
            KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers,
            DATABASE_URL=proxy.url,
            topic_prefix=prefix,
            app_id="cc-ready",
            twilio_auth_token="ready-test-token",
            worker_shutdown_timeout=3.0,
        )
        ports = {"gateway": free_port(), "worker": free_port()}
        processes = [
            start_command(
                "gateway",
                settings,
                tmp_path / "gateway.log",
                gateway_port=ports["gateway"],
                smtp_port=0,
            ),
            start_command(
                "worker", settings, tmp_path / "worker.log", metrics_port=ports["worker"]
            ),
        ]
        try:
            for name, port in ports.items():
                await wait_serving(port, name)
                assert await wait_readiness(port, 200, name) == {"status": "ready", "problems": []}

            await proxy.cut()  # PostgreSQL away
            for name, port in ports.items():
                body = await wait_readiness(port, 503, f"{name} without PostgreSQL")
                assert body == {"status": "not ready", "problems": ["database unreachable"]}
                assert get_json(port, "/healthz") == (200, {"status": "ok"})
            await proxy.start()  # back, on the same port
            for name, port in ports.items():
                await wait_readiness(port, 200, f"{name} with PostgreSQL back")

            broker.stop()  # the broker away
            for name, port in ports.items():
                body = await wait_readiness(port, 503, f"{name} without the broker")
                assert body["status"] == "not ready"
                assert body["problems"] == [f"broker unreachable ({broker.bootstrap_servers})"]
                assert get_json(port, "/healthz") == (200, {"status": "ok"})
            assert all(p.poll() is None for p in processes)  # not ready, still alive
        finally:
            for process in processes:
                stop(process)
    finally:
        broker.stop()
