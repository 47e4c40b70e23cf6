"""Readiness of a process: can it reach its broker and its database right now?

``/healthz`` is liveness (the process answers); ``/readyz`` answers 503 with the reasons while
a dependency is unreachable, so a load balancer or an orchestrator stops sending it work. The
probes open a connection (TCP, or PostgreSQL's Unix socket) with a short timeout; they are
synchronous and run in the metrics server's thread or in a worker thread of an aiohttp service.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from streams.platform.settings import PlatformSettings

PROBE_TIMEOUT_SECONDS = 1.0
POSTGRES_DEFAULT_PORT = 5432


def _reachable(address: tuple[str, int] | str, timeout: float) -> bool:
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    if isinstance(address, tuple) and ":" in address[0]:
        family = socket.AF_INET6
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(address)
        return True
    except OSError:
        return False


def _tcp(host: str, port: int, timeout: float) -> bool:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return any(_reachable((str(info[4][0]), int(info[4][1])), timeout) for info in infos)


def broker_reachable(bootstrap_servers: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """True when at least one bootstrap server accepts a connection."""
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        if host and port.isdigit() and _tcp(host.strip("[]"), int(port), timeout):
            return True
    return False


def database_reachable(url: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """True when the PostgreSQL server of ``url`` accepts a connection (TCP host, or a Unix
    socket directory given as ``?host=/dir``)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    port = int((query.get("port") or [str(parts.port or POSTGRES_DEFAULT_PORT)])[0])
    host = (query.get("host") or [unquote(parts.hostname or "")])[0] or "localhost"
    if host.startswith("/"):
        return _reachable(str(Path(host) / f".s.PGSQL.{port}"), timeout)
    return _tcp(host, port, timeout)


def problems(settings: PlatformSettings) -> list[str]:
    """Why the process is not ready (empty when it is)."""
    found: list[str] = []
    if not broker_reachable(settings.kafka_bootstrap_servers):
        found.append(f"broker unreachable ({settings.kafka_bootstrap_servers})")
    if settings.database_url is not None and not database_reachable(
        settings.database_url.get_secret_value()
    ):
        found.append("database unreachable")
    return found


def answer(found: list[str]) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body of ``/readyz``."""
    if found:
        return 503, {"status": "not ready", "problems": found}
    return 200, {"status": "ready", "problems": []}


HEALTHY: dict[str, Any] = {"status": "ok"}
