"""Faults: worker processes killed, stopped, added and replaced; PostgreSQL cut away.

Each fault waits until routing makes progress again after the previous one (the routing
offsets stored in PostgreSQL move on: a worker is committing batches), then a random moment
more, so every fault hits a working system.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from services.harness.pg_proxy import SwitchableProxy
from services.runtime import processes
from services.runtime.broker import free_port
from streams.platform.settings import Settings

PROGRESS_TIMEOUT = 120.0  # a replacement resumes within about 15 s on the local broker
PROGRESS_STEPS = 20  # offsets of routing batches committed since the last fault


@dataclass
class FaultLog:
    started: float = field(default_factory=time.monotonic)
    counts: dict[str, int] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    stalls: int = 0  # waits for progress that timed out

    def note(self, kind: str, what: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.events.append(f"{time.monotonic() - self.started:7.1f}s {what}")

    def summary(self) -> str:
        return ", ".join(f"{n} {kind}" for kind, n in self.counts.items()) or "none"


class Fleet:
    """The streams workers of one run, each a ``contactcenter worker`` child process with a
    metrics port of its own and its own log file."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self._settings = settings
        self._log_dir = log_dir
        self._started = 0
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        self._started += 1
        process = processes.start_command(
            "worker",
            self._settings,
            self._log_dir / f"worker-{self._started}.log",
            metrics_port=free_port(),
        )
        self.running.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        processes.kill(process)
        self.running.remove(process)

    async def terminate(self, process: subprocess.Popen[bytes]) -> None:
        await asyncio.to_thread(processes.stop, process)
        self.running.remove(process)

    async def stop_all(self) -> None:
        running, self.running = self.running, []
        await asyncio.gather(*(asyncio.to_thread(processes.stop, p) for p in running))

    def exited(self) -> list[int]:
        """Exit codes of workers that ended without being told to."""
        return [code for p in self.running if (code := p.poll()) is not None]


class Faults:
    """The fault schedule of one scenario, run alongside the load."""

    def __init__(
        self,
        fleet: Fleet,
        progress: Callable[[], Awaitable[int]],
        rng: random.Random,
        proxy: SwitchableProxy | None = None,
    ) -> None:
        self.fleet = fleet
        self._progress = progress
        self._rng = rng
        self._proxy = proxy
        self.log = FaultLog()

    async def settled(self, pause: tuple[float, float] = (0.5, 3.0)) -> None:
        """Wait until routing commits batches again, then a random moment more."""
        loop = asyncio.get_running_loop()
        start = await self._progress()
        deadline = loop.time() + PROGRESS_TIMEOUT
        while await self._progress() < start + PROGRESS_STEPS:
            if loop.time() > deadline:
                self.log.stalls += 1
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(self._rng.uniform(*pause))

    async def kills(self, count: int) -> None:
        """SIGKILL the worker ``count`` times, each time starting its replacement at once."""
        worker = self.fleet.start()
        for n in range(count):
            await self.settled()
            self.fleet.kill(worker)
            worker = self.fleet.start()
            self.log.note("SIGKILL", f"SIGKILL {n + 1}, replacement started")

    async def scale(self) -> None:
        """Two workers; a third joins; one stops with SIGTERM and another is SIGKILLed, each
        replaced."""
        first, second = self.fleet.start(), self.fleet.start()
        await self.settled((3.0, 6.0))
        self.fleet.start()
        self.log.note("join", "a third worker joins")
        await self.settled((3.0, 6.0))
        await self.fleet.terminate(first)
        self.fleet.start()
        self.log.note("SIGTERM", "SIGTERM one worker, replacement started")
        await self.settled((3.0, 6.0))
        self.fleet.kill(second)
        self.fleet.start()
        self.log.note("SIGKILL", "SIGKILL another worker, replacement started")

    async def postgres_outages(self, count: int, seconds: tuple[float, float]) -> None:
        """Cut PostgreSQL away from the worker ``count`` times for a random while each."""
        assert self._proxy is not None
        self.fleet.start()
        for n in range(count):
            await self.settled((2.0, 5.0))
            down = self._rng.uniform(*seconds)
            await self._proxy.cut()
            await asyncio.sleep(down)
            await self._proxy.start()
            self.log.note("PostgreSQL outage", f"PostgreSQL outage {n + 1}: {down:.1f} s")

    async def none(self) -> None:
        self.fleet.start()
