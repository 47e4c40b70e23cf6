"""The metrics page of a process: ``/metrics``, ``/healthz`` and ``/readyz`` from a small
thread server (workers, notifier), or :func:`render` inside an existing HTTP server (gateway,
desk)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from streams.platform import readiness

_servers: dict[int, object] = {}
_servers_lock = threading.Lock()


def _no_problems() -> list[str]:
    return []


class _OpsServer(ThreadingHTTPServer):
    daemon_threads = True
    ready: Callable[[], list[str]] = staticmethod(_no_problems)


class _OpsHandler(BaseHTTPRequestHandler):
    """``/metrics``, ``/healthz`` (liveness) and ``/readyz`` (dependencies reachable)."""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            body, content_type = render()
            self._send(200, body, content_type)
        elif path == "/healthz":
            self._json(200, readiness.HEALTHY)
        elif path == "/readyz":
            server = cast(_OpsServer, self.server)
            self._json(*readiness.answer(server.ready()))
        else:
            self._send(404, b"not found\n", "text/plain")

    def _json(self, status: int, body: object) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def start_metrics_server(
    port: int, addr: str = "0.0.0.0", ready: Callable[[], list[str]] | None = None
) -> int:
    """Serve ``/metrics``, ``/healthz`` and ``/readyz`` on ``port`` from a daemon thread;
    idempotent per port in a process. ``ready`` returns why the process is not ready (empty
    when it is); without it ``/readyz`` answers ready.

    ``port=0`` picks a free port. Returns the port actually bound."""
    with _servers_lock:
        if port and port in _servers:
            return port
        server = _OpsServer((addr, port), _OpsHandler)
        if ready is not None:
            server.ready = ready
        threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
        bound = int(server.server_port)
        _servers[bound] = server
        return bound


def render(registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    """The exposition text and its content type, for an existing HTTP server's ``/metrics``.

    aiohttp::

        body, content_type = ops_server.render()
        return web.Response(body=body, headers={"Content-Type": content_type})
    """
    return generate_latest(registry), CONTENT_TYPE_LATEST
