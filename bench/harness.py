"""``bash scripts/bench.sh``: start a local broker and PostgreSQL, run every benchmark, print one
table in which each figure stands beside the bare loop measured in the same run."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench import bench_routing, log_bench, pipeline
from bench.profile_summary import print_summary
from services.runtime.local import local_runtime
from streams.platform.settings import Settings

Row = tuple[str, str, str]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--contacts", type=int, default=20_000, help="contacts pre-published")
    parser.add_argument("--agents", type=int, default=640, help="agents (login + ready each)")
    parser.add_argument("--pools", type=int, default=16)
    parser.add_argument("--rate", type=float, default=300.0, help="latency run: contacts/s")
    parser.add_argument("--seconds", type=float, default=20.0, help="latency run: duration")
    parser.add_argument("--log-rows", type=int, default=50_000, help="interaction log records")
    parser.add_argument("--quick", action="store_true", help="1 worker only; smaller sweeps")
    parser.add_argument(
        "--only",
        default="throughput,features,latency,decisions,log",
        help="comma-separated parts to run",
    )
    parser.add_argument("--profile", type=Path, help="py-spy flame graph of the 1-worker run")
    parser.add_argument("--logs", type=Path, help="keep worker logs here (default: temp)")
    return parser


def _rate(value: float) -> str:
    return f"{value:,.0f}/s"


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


async def _pipeline_rows(args: argparse.Namespace, env: pipeline.Env, parts: set[str]) -> list[Row]:
    rows: list[Row] = []
    load = (args.contacts, args.agents, args.pools)
    if "throughput" in parts:
        bare = await pipeline.bare_throughput(env, *load)
        counts = (1,) if args.quick else (1, 2, 4)
        for n in counts:
            run = await pipeline.throughput(
                env, *load, worker_count=n, profile=args.profile if n == 1 else None
            )
            rows.append(
                (
                    f"throughput, {n} worker{'s' if n > 1 else ''} (inputs/s, join → all routed)",
                    f"{_rate(run.rate)} ({run.inputs:,} in {run.seconds:.1f} s;"
                    f" log caught up {_s(run.log_seconds)})",
                    _rate(bare.rate),
                )
            )
            if n == 1:
                first = run
        rows += [
            (
                f"start → first routed output, {args.contacts:,} waiting (after join)",
                f"{_s(first.start_to_first_output)} ({_s(first.join_to_first_output)})",
                f"{_s(bare.start_to_first_output)} ({_s(bare.join_to_first_output)})",
            ),
            (
                "RSS of one worker per 100,000 waiting contacts",
                f"{first.rss_per_100k_mb:,.0f} MB ({first.rss_first_mb:.0f} MB after join,"
                f" {first.rss_done_mb:.0f} MB with {first.waiting:,} waiting)",
                f"{bare.rss_mb:.0f} MB in all",
            ),
        ]
    if "features" in parts:
        alone = await pipeline.throughput(env, *load, features=("streams.routing.agents",))
        rows.append(
            ("throughput, 1 worker, routing only (log in another process)", _rate(alone.rate), "")
        )
    if "latency" in parts:
        lat, resumed = await pipeline.latency_and_recovery(
            env, args.rate, args.seconds, args.pools, agents=160, bare=False
        )
        bare_lat, bare_resumed = await pipeline.latency_and_recovery(
            env, args.rate, args.seconds, args.pools, agents=160, bare=True
        )
        rows += [
            (
                f"latency publish → offer at {args.rate:.0f}/s, p50 / p99",
                f"{lat.p50_ms:.1f} / {lat.p99_ms:.1f} ms ({lat.measured:,} offers,"
                f" {lat.missing} missing)",
                f"{bare_lat.p50_ms:.1f} / {bare_lat.p99_ms:.1f} ms",
            ),
            (
                "SIGKILL → routing resumes (replacement started at once)",
                _s(resumed),
                _s(bare_resumed),
            ),
        ]
    return rows


def _decision_rows(quick: bool) -> list[Row]:
    rows: list[Row] = []
    for waiting, agents in bench_routing.sizes(quick):
        c = bench_routing.measure(waiting, agents)
        rows.append(
            (
                f"decision, {waiting:,} waiting × {agents:,} agents (µs p50 / p99)",
                f"ready {c.ready_p50_us:.0f} / {c.ready_p99_us:.0f};"
                f" arrival {c.arrival_p50_us:.0f} / {c.arrival_p99_us:.0f}",
                f"heap {c.heap_p50_us:.1f} / {c.heap_p99_us:.1f}",
            )
        )
    return rows


def print_table(rows: Sequence[Row], settings: str) -> None:
    header = ("figure", "contactcenter", "bare loop, same run")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    print(f"\n{settings}")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


async def _run(args: argparse.Namespace, ready: Settings, logs: Path) -> list[Row]:
    parts = set(args.only.split(","))
    env = pipeline.Env(ready.kafka_bootstrap_servers, ready.require_database_url(), logs)
    rows = await _pipeline_rows(args, env, parts)
    if "log" in parts:
        rows += await log_bench.rows(env, args.log_rows)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logs = args.logs or Path(tempfile.mkdtemp(prefix="cc-bench-"))
    logs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    rows: list[Row] = []
    if "decisions" in args.only:
        rows += _decision_rows(args.quick)
    with local_runtime(Settings(DATABASE_URL=os.environ.get("DATABASE_URL"))) as ready:
        rows = asyncio.run(_run(args, ready, logs)) + rows
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print_table(
        rows,
        f"{when}, {os.cpu_count()} cores, Python {platform.python_version()},"
        f" {args.contacts:,} contacts + {args.agents * 2:,} agent events over {args.pools}"
        f" pools; {time.monotonic() - started:.0f} s; worker logs in {logs}",
    )
    if args.profile is not None and args.profile.suffix == ".txt" and args.profile.exists():
        print_summary(args.profile)
    return 0
