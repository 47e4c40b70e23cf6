"""The faust app and worker classes of every streams process: a consumer whose fetch
long-poll is configurable, a worker without the start-up spinner and with a bounded stop."""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_kafka

log = logging.getLogger(__name__)

SHUTDOWN_OVERDUE_EXIT_CODE = 70


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
    """A faust worker whose stop takes at most ``shutdown_timeout`` seconds, and without the
    start-up spinner (it sets the root logger to DEBUG, so every debug call of faust, mode and
    aiokafka would build a log record).

    A clean stop waits for the streams to drain, commits the offsets and flushes the producer;
    with the broker away none of that can finish (pending sends are retried until the
    producer's request timeout), so a stop that runs past the timeout ends the process with
    ``SHUTDOWN_OVERDUE_EXIT_CODE``. Nothing is lost by that: offsets not committed are
    consumed again by the next owner, and routing skips inputs at or below its stored offset."""

    def __init__(self, app: faust.App, *, shutdown_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.shutdown_timeout = shutdown_timeout
        self._deadline: threading.Timer | None = None

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None

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
