"""Retry with backoff for the effects of a batch: transient failures (the database or the
broker away) retry the same work, so nothing is lost and nothing is acknowledged early;
anything else is not retried here and propagates to the caller, which decides (dead-letter,
narrow down, or crash loudly).

With a reconnect probe (PostgreSQL's ``SELECT 1`` on a new connection), a failure while the
database does not answer is not slept out: the retry waits for the probe to answer, probing
every ``probe_interval`` seconds, and runs as soon as it does. A backoff that grew during an
outage would otherwise hold the work back for up to its cap after the database returned."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError

from streams.platform import metrics

log = logging.getLogger(__name__)

T = TypeVar("T")

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # connection refused or reset (ConnectionError is one)
    asyncio.TimeoutError,
    asyncpg.InterfaceError,  # connection closed under us
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    KafkaConnectionError,
    KafkaTimeoutError,
)


def backoff_delay(attempt: int, *, base: float, cap: float, rand: float) -> float:
    """Exponential backoff with "equal jitter": half the step fixed, half random (0..1)."""
    step = min(cap, base * (2 ** max(0, attempt - 1)))
    return float(step / 2 + rand * step / 2)


async def retry_transient(
    operation: Callable[[], Awaitable[T]],
    *,
    writer: str,
    what: str,
    base: float = 0.2,
    cap: float = 5.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rand: Callable[[], float] = random.random,
    retry_on: tuple[type[BaseException], ...] = TRANSIENT_ERRORS,
    reconnect: Callable[[], Awaitable[bool]] | None = None,
    probe_interval: float = 0.2,
) -> T:
    """Run ``operation`` until it succeeds, sleeping with backoff after each failure of
    ``retry_on`` (transient ones unless the caller must retry everything);
    ``contactcenter_db_up{writer}`` reads 0 meanwhile, failures are counted. A failure that
    is not transient is logged with its traceback: it is a defect, not an outage.

    ``reconnect`` answers whether the database answers now; while it does not, the retry
    waits for it (see the module's docstring) and then starts its backoff afresh."""
    attempt = 0
    while True:
        try:
            result = await operation()
        except retry_on as exc:
            attempt += 1
            delay = backoff_delay(attempt, base=base, cap=cap, rand=rand())
            log.warning(
                "%s: %s failed (%s: %s); retry %d in %.1f s",
                writer,
                what,
                type(exc).__name__,
                exc,
                attempt,
                delay,
                exc_info=not isinstance(exc, TRANSIENT_ERRORS),
            )
            metrics.DB_WRITE_FAILURES.labels(writer=writer).inc()
            metrics.DB_UP.labels(writer=writer).set(0)
            if reconnect is not None and not await reconnect():
                await _until_answering(reconnect, writer, probe_interval, sleep)
                attempt = 0
                continue
            await sleep(delay)
            continue
        metrics.DB_UP.labels(writer=writer).set(1)
        return result


async def _until_answering(
    reconnect: Callable[[], Awaitable[bool]],
    writer: str,
    interval: float,
    sleep: Callable[[float], Awaitable[None]],
) -> None:
    log.warning("%s: PostgreSQL does not answer; probing every %.1f s", writer, interval)
    while True:
        await sleep(interval)
        if await reconnect():
            log.warning("%s: PostgreSQL answers again; retrying now", writer)
            return
