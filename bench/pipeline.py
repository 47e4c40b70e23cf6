"""Pipeline figures: throughput, latency, start and recovery of real worker processes, each
beside the bare loop on the same broker in the same run."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench import load
from bench.bare_loop import rss_mb
from schemas.routing import OfferMade
from schemas.topics import CONTACTS, INTERACTIONS, OFFERS, ROUTING, TopicSpec
from services.runtime.broker import free_port
from services.runtime.local import isolated_settings
from services.runtime.processes import kill, start_command, stop
from streams.app import FEATURES
from streams.platform.settings import Settings

POLL_SECONDS = 0.25
CHAT_CAPACITY = {"chat": 1_000_000}  # latency agents never run out of room


@dataclass(frozen=True)
class Env:
    bootstrap_servers: str
    postgres_url: str
    logs: Path
    worker_values: dict[str, object] = field(default_factory=dict)

    async def deployment(self) -> Settings:
        return await isolated_settings(
            self.bootstrap_servers, self.postgres_url, **self.worker_values
        )


@dataclass
class Throughput:
    inputs: int
    seconds: float  # first routing record (group joined) → every contact queued or offered
    start_to_first_output: float
    join_to_first_output: float
    log_seconds: float | None  # group joined → the log holds every arrival and queueing
    rss_first_mb: float  # at the first poll that found routed rows
    rss_done_mb: float
    waiting: int
    routed_first: int  # contacts routed at that first poll

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds

    @property
    def rss_per_100k_mb(self) -> float:
        grown = self.rss_done_mb - self.rss_first_mb
        return grown * 100_000 / max(1, self.waiting - self.routed_first)


@dataclass
class BareRun:
    inputs: int
    seconds: float
    start_to_first_output: float
    join_to_first_output: float
    rss_mb: float

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds


@dataclass
class Latency:
    p50_ms: float
    p99_ms: float
    measured: int
    missing: int


# ---------------------------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------------------------
@contextmanager
def workers(
    env: Env, settings: Settings, count: int, features: Sequence[str] = FEATURES, tag: str = ""
) -> Iterator[list[subprocess.Popen[bytes]]]:
    started = [
        start_command(
            "worker",
            settings,
            env.logs / f"worker{tag}-{n}.log",
            args=["--features", ",".join(features)],
            metrics_port=free_port(),
        )
        for n in range(count)
    ]
    try:
        yield started
    finally:
        for process in started:
            stop(process)


def start_bare_loop(
    env: Env, settings: Settings, expect: int, deadline: float
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.bare_loop",
            "--bootstrap",
            env.bootstrap_servers,
            "--prefix",
            settings.topic_prefix,
            "--group",
            f"bare-{settings.app_id}",
            "--expect",
            str(expect),
            "--deadline",
            str(deadline),
        ],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )


def bare_result(process: subprocess.Popen[bytes], timeout: float) -> dict[str, float]:
    out, _ = process.communicate(timeout=timeout)
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


@contextmanager
def profiled(pid: int, svg: Path | None) -> Iterator[None]:
    """py-spy records ``pid`` while the block runs and writes a flame graph to ``svg``."""
    if svg is None:
        yield
        return
    spy = subprocess.Popen(
        ["py-spy", "record", "--pid", str(pid), "--output", str(svg), "--rate", "50"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        executable=str(Path(sys.executable).parent / "py-spy"),
    )
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(timeout=60)
        except subprocess.TimeoutExpired:
            spy.kill()


# ---------------------------------------------------------------------------------------------
# broker and database probes
# ---------------------------------------------------------------------------------------------
async def first_timestamp(settings: Settings, topic: TopicSpec) -> float | None:
    """The earliest record timestamp on a topic (the producer's clock, seconds)."""
    consumer = AIOKafkaConsumer(
        topic.full_name(settings.topic_prefix),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=50,
    )
    await consumer.start()
    try:
        found: list[int] = []
        deadline = time.monotonic() + 5
        partitions: set[int] = set()
        while time.monotonic() < deadline and len(partitions) < topic.partitions:
            for tp, messages in (await consumer.getmany(timeout_ms=500)).items():
                partitions.add(tp.partition)
                found.extend(m.timestamp for m in messages)
        return min(found) / 1000 if found else None
    finally:
        await consumer.stop()


async def counts(connection: asyncpg.Connection) -> tuple[int, int]:
    contacts = await connection.fetchval("SELECT count(*) FROM routing_contacts")
    agents = await connection.fetchval("SELECT count(*) FROM routing_agents")
    return int(contacts), int(agents)


async def log_caught_up(connection: asyncpg.Connection, contacts: int) -> bool:
    arrived, queued = await connection.fetchrow(
        "SELECT count(*) FILTER (WHERE type = 'contact_arrived'),"
        " count(*) FILTER (WHERE type = 'contact_queued') FROM interaction_events"
    )
    return bool(arrived >= contacts and queued >= contacts)


# ---------------------------------------------------------------------------------------------
# throughput, start, memory
# ---------------------------------------------------------------------------------------------
async def throughput(
    env: Env,
    contacts: int,
    agents: int,
    pools: int,
    worker_count: int = 1,
    features: Sequence[str] = FEATURES,
    profile: Path | None = None,
    timeout: float = 900.0,
) -> Throughput:
    settings = await env.deployment()
    inputs = await load.publish(
        env.bootstrap_servers,
        settings.topic_prefix,
        [*load.agent_events(agents, pools), *load.contacts(contacts, pools)],
    )
    with_log = "streams.interaction_log.agents" in features
    connection = await asyncpg.connect(settings.require_database_url())
    try:
        spawned = time.time()
        with workers(env, settings, worker_count, features, tag=f"-tp{worker_count}") as procs:
            routed_at = logged_at = rss_first = None
            deadline = time.monotonic() + timeout
            with profiled(procs[0].pid, profile):
                while time.monotonic() < deadline:
                    now = time.time()
                    routed = await counts(connection)
                    if rss_first is None and sum(routed):
                        rss_first, routed_first = rss_mb(procs[0].pid), routed[0]
                    if routed_at is None and routed == (contacts, agents):
                        routed_at = now
                        rss_done = rss_mb(procs[0].pid)
                    if logged_at is None and with_log and await log_caught_up(connection, contacts):
                        logged_at = now
                    if routed_at is not None and (logged_at is not None or not with_log):
                        break
                    await asyncio.sleep(POLL_SECONDS)
            if routed_at is None:
                raise TimeoutError(f"routing did not finish within {timeout} s")
        waiting = await connection.fetchval(
            "SELECT count(*) FROM routing_contacts WHERE status = 'waiting'"
        )
    finally:
        await connection.close()
    joined = await first_timestamp(settings, ROUTING)
    first_output = await first_timestamp(settings, INTERACTIONS)
    assert joined is not None and first_output is not None and rss_first is not None
    return Throughput(
        inputs=inputs,
        seconds=routed_at - joined,
        start_to_first_output=first_output - spawned,
        join_to_first_output=first_output - joined,
        log_seconds=None if logged_at is None else logged_at - joined,
        rss_first_mb=rss_first,
        rss_done_mb=rss_done,
        waiting=int(waiting),
        routed_first=routed_first,
    )


async def bare_throughput(env: Env, contacts: int, agents: int, pools: int) -> BareRun:
    settings = await env.deployment()
    inputs = await load.publish(
        env.bootstrap_servers,
        settings.topic_prefix,
        [*load.agent_events(agents, pools), *load.contacts(contacts, pools)],
    )
    process = start_bare_loop(env, settings, inputs, deadline=300)
    result = await asyncio.to_thread(bare_result, process, 330)
    return BareRun(
        inputs=int(result["processed"]),
        seconds=result["done"] - result["first_input"],
        start_to_first_output=result["first_output"] - result["started"],
        join_to_first_output=result["first_output"] - result["first_input"],
        rss_mb=result["rss_mb"],
    )


# ---------------------------------------------------------------------------------------------
# latency and recovery
# ---------------------------------------------------------------------------------------------
class OutputWatch:
    """Reads output topics (no group, short fetch wait) and notes when the first output of
    each contact arrived: its offer, or with ``any_output`` any record about it."""

    def __init__(
        self, settings: Settings, topics: Sequence[TopicSpec] = (OFFERS,), any_output: bool = False
    ) -> None:
        self.received: dict[str, float] = {}
        self._types = None if any_output else {OfferMade.TYPE}
        self._consumer = AIOKafkaConsumer(
            *(t.full_name(settings.topic_prefix) for t in topics),
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=2,
        )
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for messages in batches.values():
                for message in messages:
                    body = json.loads(message.value or b"{}")
                    contact_id = body.get("contact_id")
                    if contact_id and (self._types is None or body.get("type") in self._types):
                        self.received.setdefault(contact_id, now)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[OutputWatch]:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())
        try:
            yield self
        finally:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            await self._consumer.stop()


async def steady_contacts(
    settings: Settings, rate: float, seconds: float, start: int, pools: int
) -> dict[str, float]:
    """Publish chat contacts at ``rate`` per second; return when each was sent."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=0
    )
    await producer.start()
    sent: dict[str, float] = {}
    rng = random.Random(start)
    try:
        began = time.perf_counter()
        total = int(rate * seconds)
        for n in range(total):
            due = began + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            message = load.contact(start + n, pools, rng, channel=load.ct.Channel.CHAT)
            sent[message.key.decode()] = time.perf_counter()
            await producer.send(
                CONTACTS.full_name(settings.topic_prefix), message.value, key=message.key
            )
        await producer.flush()
    finally:
        await producer.stop()
    return sent


def latency_of(sent: dict[str, float], received: dict[str, float]) -> Latency:
    values = sorted(received[c] - t for c, t in sent.items() if c in received)
    if not values:
        return Latency(float("nan"), float("nan"), 0, len(sent))
    return Latency(
        p50_ms=values[len(values) // 2] * 1000,
        p99_ms=values[min(len(values) - 1, int(len(values) * 0.99))] * 1000,
        measured=len(values),
        missing=len(sent) - len(values),
    )


async def wait_for(watch: OutputWatch, contacts: Sequence[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(c in watch.received for c in contacts):
        await asyncio.sleep(0.1)


async def latency_and_recovery(
    env: Env, rate: float, seconds: float, pools: int, agents: int, bare: bool
) -> tuple[Latency, float | None]:
    """Steady contacts into a warm worker (or the bare loop): publish → offer; then SIGKILL it,
    start a replacement and time the kill → the first offer of a contact sent after it."""
    settings = await env.deployment()
    await load.publish(
        env.bootstrap_servers,
        settings.topic_prefix,
        load.agent_events(agents, pools, capacity=CHAT_CAPACITY),
    )
    warmup = [f"contact-{n:07d}" for n in range(pools)]

    def start() -> subprocess.Popen[bytes]:
        if bare:
            return start_bare_loop(env, settings, expect=10**9, deadline=600)
        return start_command(
            "worker",
            settings,
            env.logs / f"latency-{time.time():.0f}.log",
            metrics_port=free_port(),
        )

    process = start()
    replacement = None
    try:
        async with OutputWatch(settings).running() as watch:
            await steady_contacts(settings, 10, len(warmup) / 10, 0, pools)
            await wait_for(watch, warmup, 120)
            await asyncio.sleep(1.0)
            sent = await steady_contacts(settings, rate, seconds, 1_000_000, pools)
            await wait_for(watch, list(sent), 15)
            measured = latency_of(sent, watch.received)
        # a restarted bare loop has lost its agents: any output of a new contact counts
        async with OutputWatch(settings, (OFFERS, INTERACTIONS), any_output=True).running() as out:
            killed = time.perf_counter()
            kill(process)
            replacement = start()
            after: dict[str, float] = {}
            resumed = None
            deadline = time.monotonic() + 90
            while resumed is None and time.monotonic() < deadline:
                after |= await steady_contacts(settings, 20, 0.5, 2_000_000 + len(after), pools)
                times = [out.received[c] for c in after if c in out.received]
                resumed = min(times) - killed if times else None
            return measured, resumed
    finally:
        for p in (process, replacement):
            if p is not None:
                kill(p)
