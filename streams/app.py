"""The streams worker: one faust app, features installed from ``FEATURES``.

Each feature module exposes ``install(app, deps) -> None`` and registers its agents and
timers there; agents stay thin (decode, call the domain, send what it returns).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_kafka

from services.settings import Settings
from streams.deps import WorkerDeps

FEATURES: tuple[str, ...] = ("streams.routing_agent", "streams.log_writer", "streams.notices_agent")


class _ConsumerThread(faust_kafka.AIOKafkaConsumerThread):
    """Faust fixes the fetch long-poll at 1.5 s. A broker that answers a fetch only when the
    wait is over (the local one does) then holds every hop for up to that long; Apache Kafka
    answers as soon as data arrives, so a short wait costs it only idle fetches."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = int(getattr(self.app, "fetch_max_wait", 1.5) * 1000)
        return consumer


class _Consumer(faust_kafka.Consumer):
    def _new_consumer_thread(self) -> faust_kafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(faust_kafka.Transport):
    Consumer = _Consumer


class App(faust.App):
    """A faust app whose consumer long-polls for ``fetch_max_wait`` seconds at most."""

    fetch_max_wait: float = 0.5

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)


class Worker(faust.Worker):
    """A faust worker without the start-up spinner: the spinner sets the root logger to DEBUG,
    so every debug call of faust, mode and aiokafka would build a log record."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None


def create_app(settings: Settings, features: tuple[str, ...] = FEATURES) -> faust.App:
    app = App(
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

    return app
