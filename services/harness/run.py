"""One harness run per scenario: a deployment of its own, workers, load and faults; then quiet,
a read of every topic from the beginning and of PostgreSQL, and the checks.

The steps of a run are kept in one module, in the order they happen (set up, load and faults,
quiet, read back, observe, report), so a failed run can be followed top to bottom here."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from collections.abc import Coroutine, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import asyncpg

from schemas.base import Record
from schemas.codec import decode
from schemas.topics import DEAD_LETTER, INTERACTIONS, OFFERS, ROUTING
from services.bus import TopicReader, open_bus
from services.harness import checks, report
from services.harness.faults import Faults, Fleet
from services.harness.load import (
    Agents,
    AppliedInputs,
    Customers,
    Inputs,
    LoadProfile,
    PolicyChanges,
)
from services.harness.pg_proxy import SwitchableProxy
from services.replay import replay_recorded
from services.runtime.broker import LocalBroker
from services.runtime.local import isolated_settings
from services.runtime.postgres import EmbeddedPostgres
from streams.platform.settings import Settings

SCENARIOS = ("kill", "scale", "duplicate", "pg-restart")
AGENTS_READY_TIMEOUT = 120.0
READ_BACK_TIMEOUT = 90.0
POLL = 0.5


@dataclass(frozen=True)
class ScenarioConfig:
    scenario: str
    events: int = 20_000  # inputs to publish at least (arrivals, agent events, answers)
    kills: int = 10
    outages: int = 2
    outage_seconds: tuple[float, float] = (10.0, 20.0)
    seed: int = 1
    quiet_timeout: float = 240.0
    log_dir: Path = Path(".contactcenter/harness")
    profile: LoadProfile = field(default_factory=LoadProfile)


@dataclass
class ScenarioResult:
    scenario: str
    events: int
    copies: int
    faults: str
    duration: float
    contacts: int
    completed: int
    abandoned: int
    offers: int
    violations: list[checks.Violation]
    samples: dict[str, list[str]]  # a violation's subject → its records in topic order
    fault_events: list[str]
    log_dir: Path
    phases: dict[str, float]  # seconds: start, load, quiet, check

    def counts(self) -> dict[str, int]:
        found = {kind: 0 for kind in checks.KINDS}
        for violation in self.violations:
            found[violation.kind] = found.get(violation.kind, 0) + 1
        return found


class Laps:
    def __init__(self) -> None:
        self._last = time.monotonic()
        self.seconds: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name] = now - self._last
        self._last = now


class Follower:
    """Reads the offers, interactions and dead-letter topics as they fill: hands offers to
    the simulated agents, and counts what it saw, for quiet and for the read-back."""

    def __init__(self, settings: Settings, agents: Agents) -> None:
        prefix = settings.topic_prefix
        self._reader = TopicReader(
            settings.kafka_bootstrap_servers, prefix, [OFFERS, INTERACTIONS, DEAD_LETTER]
        )
        self._names = {t.full_name(prefix): t for t in (OFFERS, INTERACTIONS, DEAD_LETTER)}
        self._agents = agents
        self.counts = {OFFERS.name: 0, INTERACTIONS.name: 0, DEAD_LETTER.name: 0}
        self.logged_ids: set[str] = set()  # interactions and dead-letter: the log keeps them
        self.changed_at = time.monotonic()

    def interactions(self) -> int:
        return self.counts[INTERACTIONS.name]

    async def run(self) -> None:
        async with self._reader:
            while True:
                for topic_name, _key, value in await self._reader.read(0.2):
                    topic = self._names[topic_name]
                    self.counts[topic.name] += 1
                    self.changed_at = time.monotonic()
                    if topic is OFFERS:
                        self._agents.handle(decode(value))
                    else:
                        self.logged_ids.add(json.loads(value)["event_id"])


async def run_scenario(
    config: ScenarioConfig, bootstrap_servers: str, postgres_server_url: str
) -> ScenarioResult:
    """Run one scenario on its own topics and database on the given servers."""
    started = time.monotonic()
    phases = Laps()
    settings = await isolated_settings(bootstrap_servers, postgres_server_url)
    run_id = settings.topic_prefix.rstrip(".")
    log_dir = config.log_dir / f"{config.scenario}-{run_id}"
    log_dir.mkdir(parents=True, exist_ok=True)
    profile = replace(config.profile, duplicates=config.scenario == "duplicate")
    direct_url = settings.require_database_url()
    proxy: SwitchableProxy | None = None
    worker_settings = settings
    if config.scenario == "pg-restart":
        proxy = SwitchableProxy(direct_url)
        await proxy.start()
        worker_settings = settings.with_values(database_url=proxy.url)
    rng = random.Random(config.seed)
    fleet = Fleet(worker_settings, log_dir)
    db = await asyncpg.create_pool(direct_url, min_size=1, max_size=3)
    background: list[asyncio.Task[None]] = []

    async def fetch_applied(ids: list[str]) -> set[str]:
        rows = await db.fetch(
            "SELECT item_id FROM routing_memory WHERE kind = 'input' AND item_id = ANY($1)", ids
        )
        return {r["item_id"] for r in rows}

    async def progress() -> int:
        return int(await db.fetchval('SELECT coalesce(sum("offset"), 0) FROM routing_offsets'))

    applied = AppliedInputs(fetch_applied)
    try:
        async with open_bus(bootstrap_servers, settings.topic_prefix) as bus:
            inputs = Inputs(bus, rng, profile, applied)
            customers = Customers(inputs, rng, profile, run_id)
            agents = Agents(inputs, rng, profile, customers)
            follower = Follower(settings, agents)
            faults = Faults(fleet, progress, rng, proxy)
            following = asyncio.create_task(follower.run())
            background.append(following)
            fault_task = asyncio.create_task(_schedule(config, faults))
            background.append(fault_task)
            await agents.log_in()
            await _agents_ready(db, len(agents.pools), fault_task)
            phases.lap("start")
            await inputs.send_poison(1)
            policies = PolicyChanges(bus, rng, profile, run_id)
            changing = asyncio.create_task(policies.run())
            background.append(changing)
            await customers.run(lambda: inputs.sent >= config.events and fault_task.done())
            changing.cancel()
            await fault_task  # raises what the schedule met
            phases.lap("load")
            unsettled = await _quiet(
                db, settings, config, inputs, customers, agents, follower, following
            )
            phases.lap("quiet")
            for tasks in (inputs.late, customers.waiting, agents.busy):
                tasks.raise_errors()
            observation = await _observe(settings, db, follower, customers, agents, inputs)
        violations = checks.check(observation)
        phases.lap("check")
        if unsettled:
            violations.append(checks.Violation(checks.NOT_QUIET, config.scenario, unsettled))
        exited = fleet.exited()
        if exited:
            faults.log.note("exit", f"workers ended by themselves: exit codes {exited}")
        interactions, _ = checks.decode_all(observation.interactions)
        return ScenarioResult(
            scenario=config.scenario,
            events=inputs.sent,
            copies=inputs.copies,
            faults=_fault_summary(config.scenario, faults, inputs),
            duration=time.monotonic() - started,
            contacts=len(customers.arrived),
            completed=agents.counts.completed,
            abandoned=customers.abandoned,
            offers=agents.counts.offers,
            violations=violations,
            samples=_samples(violations, interactions),
            fault_events=faults.log.events,
            log_dir=log_dir,
            phases=phases.seconds,
        )
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        applied.stop()
        await fleet.stop_all()
        await db.close()
        if proxy is not None:
            await proxy.close()


def _schedule(config: ScenarioConfig, faults: Faults) -> Coroutine[Any, Any, None]:
    if config.scenario == "kill":
        return faults.kills(config.kills)
    if config.scenario == "scale":
        return faults.scale()
    if config.scenario == "pg-restart":
        return faults.postgres_outages(config.outages, config.outage_seconds)
    if config.scenario == "duplicate":
        return faults.none()
    raise ValueError(f"unknown scenario {config.scenario!r}; known: {', '.join(SCENARIOS)}")


async def _agents_ready(db: asyncpg.Pool, agents: int, faults: asyncio.Task[None]) -> None:
    """Wait until routing has every agent ready: the workers are up and routing."""
    deadline = asyncio.get_running_loop().time() + AGENTS_READY_TIMEOUT
    while True:
        ready = await db.fetchval("SELECT count(*) FROM routing_agents WHERE status = 'ready'")
        if ready == agents:
            return
        if faults.done():
            await faults  # the schedule failed: say why
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{ready} of {agents} agents ready after {AGENTS_READY_TIMEOUT} s")
        await asyncio.sleep(POLL)


QUIET = """
SELECT (SELECT count(*) FROM routing_memory WHERE kind = 'input') AS applied,
       (SELECT count(*) FROM routing_contacts) AS open,
       (SELECT count(*) FROM interaction_events) AS logged
"""


async def _quiet(
    db: asyncpg.Pool,
    settings: Settings,
    config: ScenarioConfig,
    inputs: Inputs,
    customers: Customers,
    agents: Agents,
    follower: Follower,
    following: asyncio.Task[None],
) -> str:
    """Wait until the load has settled: no copy or answer pending, every input applied by
    routing, the interaction log holding every record, and nothing moving (with contacts
    still open, for longer than an offer lasts). Empty when quiet, else what was not."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + config.quiet_timeout
    still_for = settings.offer_timeout_seconds + 5.0
    last: tuple[int, ...] = ()
    while True:
        if following.done():
            await following  # the agents stopped hearing offers: say why
        row = await db.fetchrow(QUIET)
        pending = len(inputs.late) + len(agents.busy) + customers.impatient()
        expected_logged = len(inputs.ids) + len(follower.logged_ids)
        state = (row["applied"], row["open"], row["logged"], follower.interactions(), pending)
        idle = time.monotonic() - follower.changed_at
        settled = (
            pending == 0 and row["applied"] >= inputs.sent and row["logged"] == expected_logged
        )
        if settled and state == last and (row["open"] == 0 or idle >= still_for):
            return ""
        if loop.time() > deadline:
            return (
                f"after {config.quiet_timeout:.0f} s: {pending} pending, routing applied"
                f" {row['applied']}/{inputs.sent} inputs, {row['open']} contacts open, log"
                f" {row['logged']}/{expected_logged} records"
            )
        last = state
        await asyncio.sleep(1.0)


async def _read_back(settings: Settings, at_least: dict[str, int]) -> dict[str, list[bytes]]:
    """The offers, interactions and dead-letter topics read again from the beginning, at
    least as far as they were followed (end offsets of the local broker are not trusted)."""
    specs = (OFFERS, INTERACTIONS, DEAD_LETTER)
    names = {spec.full_name(settings.topic_prefix): spec.name for spec in specs}
    values: dict[str, list[bytes]] = {spec.name: [] for spec in specs}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READ_BACK_TIMEOUT
    reader = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix, specs)
    async with reader:
        while True:
            batch = await reader.read(1.0)
            for topic, _key, value in batch:
                values[names[topic]].append(value)
            complete = all(len(values[name]) >= n for name, n in at_least.items())
            if complete and not batch:
                return values
            if loop.time() > deadline:
                short = {name: (len(values[name]), n) for name, n in at_least.items()}
                raise TimeoutError(f"topics read back short of what was seen: {short}")


async def _observe(
    settings: Settings,
    db: asyncpg.Pool,
    follower: Follower,
    customers: Customers,
    agents: Agents,
    inputs: Inputs,
) -> checks.Observation:
    values = await _read_back(settings, follower.counts)
    in_routing = await db.fetch("SELECT contact_id, status FROM routing_contacts")
    decisions = await db.fetch("SELECT event_id, offer_id, outcome FROM routing_decisions")
    rows = await db.fetch("SELECT contact_id, status, wait_seconds, handle_seconds FROM contacts")
    replayed: list[Record] = []
    for partition in await db.fetch(
        "SELECT DISTINCT partition FROM routing_batches WHERE topic = $1 ORDER BY partition",
        ROUTING.full_name(settings.topic_prefix),
    ):
        replayed.extend((await replay_recorded(settings, db, partition["partition"]))[2])
    return checks.Observation(
        arrived=dict(customers.arrived),
        capacity=agents.capacity(),
        exclusive=frozenset(settings.exclusive_channels),
        cross_channel_hold=dict(settings.cross_channel_hold),
        interactions=values[INTERACTIONS.name],
        offers=values[OFFERS.name],
        dead_letters=values[DEAD_LETTER.name],
        deliberate_dead_letters=frozenset(inputs.poison),
        in_routing={r["contact_id"]: r["status"] for r in in_routing},
        decisions={r["event_id"]: (r["offer_id"], r["outcome"]) for r in decisions},
        contact_rows={
            r["contact_id"]: checks.ContactRow(r["status"], r["wait_seconds"], r["handle_seconds"])
            for r in rows
        },
        replayed=replayed,
    )


SAMPLES_PER_KIND = 3
SAMPLE_LINES = 40


def _samples(
    violations: list[checks.Violation], interactions: list[Record]
) -> dict[str, list[str]]:
    """The records of the first few violations' subjects, in topic order."""
    out: dict[str, list[str]] = {}
    per_kind: dict[str, int] = {}
    for violation in violations:
        if per_kind.get(violation.kind, 0) >= SAMPLES_PER_KIND:
            continue
        per_kind[violation.kind] = per_kind.get(violation.kind, 0) + 1
        subject = violation.contact or violation.subject
        out[subject] = checks.history(subject, interactions)[-SAMPLE_LINES:]
    return out


def _fault_summary(scenario: str, faults: Faults, inputs: Inputs) -> str:
    summary = faults.log.summary()
    if scenario == "duplicate":
        summary = (
            f"{inputs.copies} copies ({inputs.late_copies} seconds later,"
            f" {inputs.reforwarded} of them re-forwarded onto routing)"
        )
    if faults.log.stalls:
        summary += f"; {faults.log.stalls} waits for progress timed out"
    return summary


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def servers(settings: Settings) -> Iterator[tuple[str, str]]:
    """The broker and the PostgreSQL server to run on: those the settings name
    (``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL``), else local ones started here."""
    with ExitStack() as stack:
        if "kafka_bootstrap_servers" in settings.model_fields_set:
            bootstrap = settings.kafka_bootstrap_servers
        else:
            bootstrap = stack.enter_context(LocalBroker()).bootstrap_servers
        if settings.database_url is not None:
            url = settings.require_database_url()
        else:
            url = stack.enter_context(EmbeddedPostgres()).url
        yield bootstrap, url


def run_command(template: ScenarioConfig, scenarios: list[str], settings: Settings) -> int:
    """Run the scenarios in sequence, each on fresh topics and a fresh database; print the
    report; 0 when no violation was found."""
    results: list[ScenarioResult] = []
    signal.signal(signal.SIGTERM, _interrupt)  # stop the workers on the way out
    with servers(settings) as (bootstrap, url):
        for n, scenario in enumerate(scenarios):
            config = replace(template, scenario=scenario, seed=template.seed + n)
            print(f"crash harness: {scenario} ...", flush=True)
            result = asyncio.run(run_scenario(config, bootstrap, url))
            print(report.scenario_lines(result), flush=True)
            results.append(result)
    print(report.summary(results), flush=True)
    return 1 if any(r.violations for r in results) else 0
