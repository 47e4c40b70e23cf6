"""Readiness of a process: do its broker and its database answer right now?

``/healthz`` is liveness (the process answers); ``/readyz`` answers 503 with the reasons while
a dependency does not answer, so a load balancer or an orchestrator stops sending it work.

Each probe is a real round trip bounded by a deadline (``readiness_deadline_seconds``): the
broker must answer a Metadata request, PostgreSQL a ``SELECT 1``. Opening a connection is not
enough: a frozen broker (stopped, swapping, partitioned behind a proxy) still completes TCP
handshakes in the kernel and never answers. Both probes run concurrently, so ``/readyz``
answers within one deadline.

A process also probes on its own every ``dependency_probe_interval_seconds``
(:func:`start_probing`) and exports the outcome (``contactcenter_dependency_up``,
``contactcenter_ready``): ``up`` stays 1 while a dependency is away, since the metrics page
itself still answers, so without these gauges Prometheus would see nothing wrong.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import threading
import time
from typing import Any

import asyncpg

from streams.platform import metrics
from streams.platform.settings import PlatformSettings

log = logging.getLogger(__name__)

BROKER = "broker"
DATABASE = "database"

# Metadata v4 (no topics): understood by every Kafka-protocol broker from Kafka 1.0 to 4.x
# (4.0 dropped versions 0-3); flexible versions start at 9, so the framing stays plain.
_METADATA_API_KEY = 3
_METADATA_VERSION = 4
_CLIENT_ID = b"contactcenter-readiness"


def _metadata_request(correlation_id: int) -> bytes:
    body = struct.pack(
        f">hhih{len(_CLIENT_ID)}sib",
        _METADATA_API_KEY,
        _METADATA_VERSION,
        correlation_id,
        len(_CLIENT_ID),
        _CLIENT_ID,
        0,  # no topics: only the brokers and the controller
        0,  # allow_auto_topic_creation: false
    )
    return struct.pack(">i", len(body)) + body


async def _broker_answers(host: str, port: int) -> bool:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        correlation_id = 0x5EAD1
        writer.write(_metadata_request(correlation_id))
        await writer.drain()
        (size,) = struct.unpack(">i", await reader.readexactly(4))
        answer = await reader.readexactly(size)
        # correlation id, throttle time, then the brokers array: at least one broker
        answered_id, _throttle, brokers = struct.unpack_from(">iii", answer)
        return bool(answered_id == correlation_id and brokers > 0)
    finally:
        writer.close()


async def broker_answers(bootstrap_servers: str, deadline: float) -> bool:
    """True when a bootstrap server answers a Metadata request within ``deadline`` seconds."""
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        if not (host and port.isdigit()):
            continue
        try:
            if await asyncio.wait_for(_broker_answers(host.strip("[]"), int(port)), deadline):
                return True
        except (TimeoutError, OSError, asyncio.IncompleteReadError, struct.error):
            continue
    return False


async def database_answers(url: str, deadline: float) -> bool:
    """True when PostgreSQL answers ``SELECT 1`` on a new connection within ``deadline``."""

    async def select_one() -> bool:
        connection = await asyncpg.connect(url, timeout=deadline)
        try:
            return bool(await connection.fetchval("SELECT 1") == 1)
        finally:
            connection.terminate()  # no goodbye round trip: the answer is known

    try:
        return await asyncio.wait_for(select_one(), deadline)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False


async def check(settings: PlatformSettings) -> list[str]:
    """Why the process is not ready (empty when it is); exports what it found."""
    deadline = settings.readiness_deadline_seconds
    probes: dict[str, Any] = {BROKER: broker_answers(settings.kafka_bootstrap_servers, deadline)}
    if settings.database_url is not None:
        probes[DATABASE] = database_answers(settings.database_url.get_secret_value(), deadline)
    answers = dict(zip(probes, await asyncio.gather(*probes.values()), strict=True))
    found: list[str] = []
    if not answers[BROKER]:
        found.append(f"broker unreachable ({settings.kafka_bootstrap_servers})")
    if not answers.get(DATABASE, True):
        found.append("database unreachable")
    for dependency, answered in answers.items():
        metrics.DEPENDENCY_UP.labels(dependency=dependency).set(1 if answered else 0)
    metrics.READY.set(0 if found else 1)
    return found


def problems(settings: PlatformSettings) -> list[str]:
    """:func:`check` from a thread without an event loop (the metrics server's threads)."""
    return asyncio.run(check(settings))


def start_probing(settings: PlatformSettings) -> threading.Thread:
    """Probe the dependencies every ``dependency_probe_interval_seconds`` from a daemon thread,
    so the gauges stay current whether or not anything calls ``/readyz``."""

    def loop() -> None:
        while True:
            try:
                problems(settings)
            except Exception:  # a probe must never end the process; the gauges keep the last
                log.exception("dependency probe failed")
            time.sleep(settings.dependency_probe_interval_seconds)

    thread = threading.Thread(target=loop, daemon=True, name="dependency-probe")
    thread.start()
    return thread


def answer(found: list[str]) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body of ``/readyz``."""
    if found:
        return 503, {"status": "not ready", "problems": found}
    return 200, {"status": "ready", "problems": []}


HEALTHY: dict[str, Any] = {"status": "ok"}
