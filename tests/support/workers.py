"""Streams workers as real child processes, and waiting on what they produce."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from services.runtime.broker import free_port
from services.runtime.processes import start_command, stop
from streams.platform.settings import Settings


@contextmanager
def running_worker(
    settings: Settings, log_path: Path, **overrides: object
) -> Iterator[subprocess.Popen[bytes]]:
    overrides.setdefault("metrics_port", free_port())
    process = start_command("worker", settings, log_path, **overrides)
    try:
        yield process
    finally:
        stop(process)


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float, what: str, interval: float = 0.2
) -> None:
    """Wait until ``check()`` is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)
