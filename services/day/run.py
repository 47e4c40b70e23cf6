"""``contactcenter demo``: a working day through the real parts on ``up``'s stack.

The plan (arrivals, shifts, shipments) is fixed by the seed; the day runs in wall-clock time
compressed by ``scale``: routing's aging, offer timeouts and the service-level thresholds are
scaled with it, so the report, given back in day time, does not depend on the scale (except for
the pipeline's own latency, which the scale magnifies).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
from rich.console import Console

from schemas.shipments import ShipmentCreated, ShipmentEtaUpdated, ShipmentEvent
from schemas.topics import SHIPMENTS
from services.bus import Bus, open_bus
from services.day.agents import DeskAgent
from services.day.customers import Customers
from services.day.plan import DayConfig, DayPlan, make_plan
from services.day.plot import plot_day
from services.day.progress import DayProgress
from services.day.render import markdown, print_report, print_side_by_side
from services.day.report import DayReport, build_report, write_report
from services.runtime.local import isolated_settings, local_runtime
from services.stack.seed import (
    SampleAgent,
    SampleCustomer,
    load_agents,
    load_customers,
    sample_agents,
    sample_customers,
)
from services.stack.stack import Stack, stack_settings
from streams.platform.settings import Settings

log = logging.getLogger(__name__)

VIP_POOL = "vip"
# service-level threshold (day seconds) and target per class ('*': the others). Longer than
# ops' 20 s default: offer → accept through the desk takes 0.13-0.25 s of wall-clock time,
# which the time scale turns into 15-30 s of every wait (see docs/day.md)
DAY_TARGETS = {"vip": (30.0, 0.9), "*": (60.0, 0.8)}
SETTLE_SECONDS = 20.0  # wall seconds to let the last events reach the log after the day


def dedicated_vip_agents(agents: list[SampleAgent]) -> list[SampleAgent]:
    """The VIP pool of the comparison day: a quarter of the staff (at least two), the agents
    with the most skills, as a contact center would pick them."""
    count = max(2, round(len(agents) / 4))
    return sorted(agents, key=lambda a: (-len(a.skills), a.agent_id))[:count]


@dataclass(frozen=True)
class DayRun:
    report: DayReport
    database_url: str  # the day's own database (its interaction log)


@dataclass
class DayClock:
    config: DayConfig
    started: float  # time.monotonic() at the day's first second

    def now(self) -> float:
        return self.config.start + (time.monotonic() - self.started) * self.config.scale

    async def until(self, day_second: float) -> None:
        await asyncio.sleep(max(0.0, (day_second - self.now()) / self.config.scale))


def day_values(config: DayConfig) -> dict[str, object]:
    """Routing and notifier settings with the day's time scale."""
    scale = config.scale
    return {
        "offer_timeout_seconds": max(1.0, 30.0 / scale),
        "aging_per_second": 1.0 * scale,
        "tick_interval": 0.25,
        "notifier_poll_interval": 0.5,
        "last_agent_window_seconds": 8 * 3600 / scale,
        # every hop's fetch wait is multiplied by the scale in day time: the shortest useful one
        "consumer_fetch_max_wait": 0.01,
    }


async def _day_targets(database_url: str, scale: float) -> None:
    """The day's service-level targets, their thresholds in wall-clock seconds."""
    connection = await asyncpg.connect(database_url)
    try:
        await connection.executemany(
            "INSERT INTO service_level_targets VALUES ($1, $2, $3) ON CONFLICT (customer_class)"
            " DO UPDATE SET threshold_seconds = EXCLUDED.threshold_seconds,"
            " target_ratio = EXCLUDED.target_ratio",
            [(k, seconds / scale, ratio) for k, (seconds, ratio) in DAY_TARGETS.items()],
        )
    finally:
        await connection.close()


async def _shipments(
    bus: Bus, plan: DayPlan, customers: list[SampleCustomer], clock: DayClock
) -> None:
    """Order events: every shipment is created with a promised date; delayed ones get a later
    ETA from the carrier during the day."""
    events: list[tuple[float, int, ShipmentEvent]] = []
    promised = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    for n, shipment in enumerate(plan.shipments):
        customer = customers[shipment.customer].customer_id
        sid, order = shipment.shipment_id, f"O-{shipment.shipment_id}"
        created = ShipmentCreated(
            shipment_id=sid, order_id=order, customer_id=customer, promised_delivery=promised
        )
        events.append((shipment.at, n, created))
        if shipment.delay_hours:
            eta = promised + timedelta(hours=shipment.delay_hours)
            update = ShipmentEtaUpdated(
                shipment_id=sid, order_id=order, customer_id=customer, eta=eta
            )
            events.append((shipment.delay_at, n, update))
    for at, _n, record in sorted(events, key=lambda e: (e[0], e[1])):
        await clock.until(at)
        await bus.publish(SHIPMENTS, record.shipment_id, record)


async def _settle(database_url: str, timeout: float) -> None:
    """Wait until the interaction log stops growing (the last events are written)."""
    connection = await asyncpg.connect(database_url)
    try:
        last, deadline = -1, time.monotonic() + timeout
        while time.monotonic() < deadline:
            count = await connection.fetchval("SELECT count(*) FROM interaction_events")
            if count == last:
                return
            last = count
            await asyncio.sleep(1.5)
    finally:
        await connection.close()


async def run_day(
    base: Settings,
    config: DayConfig,
    home: Path,
    console: Console,
    title: str,
    dedicated_vip: bool = False,
    **overrides: object,
) -> DayRun:
    """One day on a stack of its own (its own database and topics on ``base``'s servers);
    ``overrides`` are settings for it."""
    values = {**day_values(config), **overrides}
    if dedicated_vip:
        values["gateway_class_pools"] = {"vip": VIP_POOL}
    settings = await isolated_settings(
        base.kafka_bootstrap_servers, base.require_database_url(), **values
    )
    settings = stack_settings(settings, home, free_ports=True)
    database_url = settings.require_database_url()
    await _day_targets(database_url, config.scale)
    customers = sample_customers(config.customers, config.vip_share, config.seed)
    agents = sample_agents(config.agents, sorted(set(settings.ivr_choices.values())), config.seed)
    plan = make_plan(config, sorted(settings.ivr_choices))
    console.print(
        f"[bold]{title}[/]: {len(plan.arrivals)} contacts, {config.agents} agents,"
        f" {len(plan.shipments)} shipments; {config.start_hour:02.0f}:00–{config.end_hour:02.0f}:00"
        f" in {config.wall_seconds:.0f} s (scale {config.scale:g})"
    )
    async with Stack(settings, home) as stack:
        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=3)
        await load_customers(pool, customers)
        vip_agents = dedicated_vip_agents(agents) if dedicated_vip else []
        tokens = await load_agents(
            pool, [a for a in agents if a not in vip_agents], settings.gateway_pool_id
        )
        tokens.update(await load_agents(pool, vip_agents, VIP_POOL))
        tokens = {a.agent_id: tokens[a.agent_id] for a in agents}  # in shift order
        s = stack.settings
        console.print(
            f"desk http://127.0.0.1:{s.desk_port}/ · /metrics: worker :{s.metrics_port},"
            f" gateway :{s.gateway_port}, desk :{s.desk_port}, notifier"
            f" :{s.notifier_metrics_port} · logs {home / 'logs'}"
        )
        for customer in customers[7::25]:  # a few numbers the carrier does not know
            stack.twilio.invalid.add(customer.phone)
        async with (
            aiohttp.ClientSession() as http,
            open_bus(settings.kafka_bootstrap_servers, settings.topic_prefix) as bus,
        ):
            callers = Customers(
                stack.settings, http, stack.twilio, settings.smtp_port, config.scale
            )
            desk_url = f"http://127.0.0.1:{settings.desk_port}"
            desk_agents = [
                DeskAgent(agent_id, token, desk_url, http, callers, config.scale, config.seed)
                for agent_id, token in tokens.items()
            ]
            started = datetime.now(UTC)
            clock = DayClock(config, time.monotonic())
            shifts = [
                asyncio.create_task(agent.work_shift(shift, clock))
                for agent, shift in zip(desk_agents, plan.shifts, strict=True)
            ]
            shipping = asyncio.create_task(_shipments(bus, plan, customers, clock))
            progress = DayProgress(console, pool, clock, config)
            watching = asyncio.create_task(progress.run())
            supervising = asyncio.create_task(stack.supervise(asyncio.Event()))
            try:
                for arrival in plan.arrivals:
                    await clock.until(arrival.at)
                    callers.start(arrival, customers[arrival.customer])
                await clock.until(config.end)
                await asyncio.wait(shifts, timeout=SETTLE_SECONDS)
            finally:
                for task in (*shifts, shipping, supervising):
                    task.cancel()
                await callers.stop()
                progress.stop()
                with contextlib.suppress(asyncio.CancelledError):
                    await watching
            ended = datetime.now(UTC)
            await _settle(database_url, SETTLE_SECONDS)
        await pool.close()
    report = await build_report(
        database_url, title, config.scale, started, ended + timedelta(seconds=1), config.start
    )
    return DayRun(report, database_url)


async def run_days(
    base: Settings, config: DayConfig, out: Path, dedicated_vip: bool, console: Console
) -> int:
    shared = (
        await run_day(base, config, out / "stack", console, "one shared pool, VIP priority")
    ).report
    publish_report(console, shared, out / "shared")
    if dedicated_vip:
        dedicated = (
            await run_day(
                base, config, out / "stack-dedicated", console, "dedicated VIP pool", True
            )
        ).report
        publish_report(console, dedicated, out / "dedicated-vip")
        print_side_by_side(console, shared, dedicated)
    return 0


def publish_report(console: Console, report: DayReport, out: Path) -> None:
    print_report(console, report)
    write_report(report, out, markdown(report))
    png = plot_day(report, out / "day.png")
    console.print(f"report: {out / 'report.md'}, {out / 'report.json'}; plot: {png}")


def run_demo(
    settings: Settings, *, out: Path, seed: int, scale: float, agents: int, dedicated_vip: bool
) -> int:
    out = out.resolve()
    shutil.rmtree(out / "postgres", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    console = Console()
    if not console.is_terminal:  # a log file: room for the whole table
        console = Console(width=140)
    config = replace(DayConfig(), seed=seed, scale=scale, agents=agents)
    console.print(f"starting the local broker and PostgreSQL (logs and data under {out}) ...")
    with local_runtime(settings, data_dir=out / "postgres" / "pgdata") as ready:
        return asyncio.run(run_days(ready, config, out, dedicated_vip, console))
