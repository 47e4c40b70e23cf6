"""The streams worker: one faust app, features installed from ``FEATURES``.

Each feature module exposes ``install(app, deps) -> None`` and registers its agents and
timers there; agents stay thin (decode, call the feature's processor, send what it returns).
This is the composition root: it imports the features, nothing imports it but entry points.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import faust

from streams.platform import metrics
from streams.platform.deps import WorkerDeps
from streams.platform.settings import WorkerSettings
from streams.platform.worker import App

FEATURES: tuple[str, ...] = (
    "streams.routing.agents",
    "streams.interaction_log.agents",
    "streams.notices.agents",
)


def create_app(settings: WorkerSettings, features: tuple[str, ...] = FEATURES) -> faust.App:
    datadir = Path(settings.state_dir) / "worker" / f"{settings.app_id}-data"
    datadir.parent.mkdir(parents=True, exist_ok=True)  # faust creates only the last level
    app = App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in settings.kafka_bootstrap_servers.split(",")],
        key_serializer="raw",
        value_serializer="raw",
        store="memory://",
        datadir=str(datadir),
        web_enabled=False,
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.broker_session_timeout,
        broker_rebalance_timeout=settings.broker_rebalance_timeout,
        broker_heartbeat_interval=settings.broker_heartbeat_interval,
        producer_acks=-1,
        producer_linger=settings.producer_linger,
    )
    app.fetch_max_wait = settings.consumer_fetch_max_wait
    deps = WorkerDeps(settings, app)
    app.deps = deps  # type: ignore[attr-defined]
    for name in features:
        importlib.import_module(name).install(app, deps)

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def _close_database(_app: faust.App, **_kwargs: object) -> None:
        await deps.close()

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def _assigned(_app: faust.App, _assigned: object, **_kwargs: object) -> None:
        count_assigned(app.consumer.assignment(), settings.topic_prefix)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def _revoked(_app: faust.App, _revoked: object, **_kwargs: object) -> None:
        count_assigned(set(), settings.topic_prefix)  # nothing held until the next assignment

    return app


def count_assigned(assignment: Iterable[Any], prefix: str) -> None:
    """``contactcenter_assigned_partitions`` per topic: what the worker consumes now (its
    readiness to route: 0 until it has joined its group)."""
    held = Counter(metrics.topic_label(tp.topic, prefix) for tp in assignment)
    for labels in metrics.label_sets(metrics.ASSIGNED_PARTITIONS):
        metrics.ASSIGNED_PARTITIONS.labels(*labels).set(0)
    for topic, count in held.items():
        metrics.ASSIGNED_PARTITIONS.labels(topic=topic).set(count)
