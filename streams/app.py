"""The streams worker: one faust app, features installed from ``FEATURES``.

Each feature module exposes ``install(app, deps) -> None`` and registers its agents and
timers there; agents stay thin (decode, call the domain, send what it returns).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
from typing import Any

import faust

from streams.deps import WorkerDeps
from streams.platform.settings import Settings

log = logging.getLogger(__name__)

SHUTDOWN_OVERDUE_EXIT_CODE = 70

FEATURES: tuple[str, ...] = (
    "streams.routing_agent",
    "streams.log_writer",
    "streams.notices.agents",
)


def create_app(settings: Settings, features: tuple[str, ...] = FEATURES) -> faust.App:
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in settings.kafka_bootstrap_servers.split(",")],
        key_serializer="raw",
        value_serializer="raw",
        store="memory://",
        web_enabled=False,
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.broker_session_timeout,
        broker_rebalance_timeout=settings.broker_rebalance_timeout,
        broker_heartbeat_interval=settings.broker_heartbeat_interval,
        producer_acks=-1,
    )
    deps = WorkerDeps(settings, app)
    app.deps = deps  # type: ignore[attr-defined]
    for name in features:
        importlib.import_module(name).install(app, deps)

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def _close_database(_app: faust.App, **_kwargs: object) -> None:
        await deps.close()

    return app


class BoundedWorker(faust.Worker):
    """A faust worker whose stop takes at most ``shutdown_timeout`` seconds.

    A clean stop waits for the streams to drain, commits the offsets and flushes the producer;
    with the broker away none of that can finish (pending sends are retried until the
    producer's request timeout), so a stop that runs past the timeout ends the process with
    ``SHUTDOWN_OVERDUE_EXIT_CODE``. Nothing is lost by that: offsets not committed are
    consumed again by the next owner, and routing skips inputs at or below its stored offset."""

    def __init__(self, app: faust.App, *, shutdown_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.shutdown_timeout = shutdown_timeout
        self._deadline: threading.Timer | None = None

    async def on_stop(self) -> None:
        if self._deadline is None:
            self._deadline = threading.Timer(self.shutdown_timeout, self._shutdown_overdue)
            self._deadline.daemon = True
            self._deadline.start()
        await super().on_stop()

    def _shutdown_overdue(self) -> None:
        log.error(
            "worker did not stop within %.1f s (broker unreachable?); exiting without a clean stop",
            self.shutdown_timeout,
        )
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stderr.flush()
        os._exit(SHUTDOWN_OVERDUE_EXIT_CODE)
