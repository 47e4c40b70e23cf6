"""``contactcenter simulate``: the routing policy in virtual time, from the command line."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

from services import simulate_tables as tables
from streams.platform.settings import WorkerSettings
from streams.simulation import (
    ArrivalStream,
    HandleTime,
    Scenario,
    Shift,
    Summary,
    Target,
    fewest_agents,
    peak_staff,
    simulate,
)
from streams.simulation.statistics import Estimate, GroupSummary


def _pairs(text: str, what: str) -> list[tuple[str, str]]:
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise argparse.ArgumentTypeError(f"{what}: expected NAME=VALUE, got {item!r}")
        pairs.append((name.strip(), value.strip()))
    return pairs


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what}: {text!r} is not a number") from None


def parse_arrivals(text: str) -> tuple[ArrivalStream, ...]:
    """``vip=130,standard=530`` (voice) or ``vip:chat=40``: arrivals per hour."""
    streams = []
    for name, value in _pairs(text, "--arrivals"):
        cls, _, channel = name.partition(":")
        try:
            streams.append(
                ArrivalStream(cls, channel or "voice", _number(value, "--arrivals"))  # type: ignore[arg-type]
            )
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"--arrivals: {exc}") from None
    return tuple(streams)


def parse_numbers(text: str) -> dict[str, float]:
    return {name: _number(value, "NAME=NUMBER") for name, value in _pairs(text, "NAME=NUMBER")}


def parse_counts(text: str) -> dict[str, int]:
    return {name: int(value) for name, value in parse_numbers(text).items()}


def parse_targets(text: str) -> dict[str, Target]:
    """``vip=0.9@20,standard=0.8@60``: service level at threshold seconds per class."""
    targets = {}
    for name, value in _pairs(text, "--target"):
        level, sep, threshold = value.partition("@")
        if not sep:
            raise argparse.ArgumentTypeError(f"--target: expected LEVEL@SECONDS, got {value!r}")
        try:
            targets[name] = Target(_number(level, "--target"), _number(threshold, "--target"))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"--target: {exc}") from None
    return targets


SHIFT_FIELDS = ("start_hour", "end_hour", "agents")


def parse_shifts(path: str) -> tuple[Shift, ...]:
    """A shift table: JSON (a list of ``{"start_hour", "end_hour", "agents"}`` or of
    ``[start, end, agents]``) or CSV (rows ``start_hour,end_hour,agents``, a header line
    optional). Hours of the day, 0–24; an end at or before the start runs past midnight."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"--shifts: {exc}") from None
    try:
        if text.lstrip().startswith("["):
            rows = [
                [row[f] for f in SHIFT_FIELDS] if isinstance(row, dict) else list(row)
                for row in json.loads(text)
            ]
        else:
            rows = [r for r in csv.reader(text.splitlines()) if r and r[0].strip() != "start_hour"]
        shifts = tuple(Shift(float(s), float(e), int(a)) for s, e, a in rows)
    except (ValueError, KeyError, TypeError) as exc:
        raise argparse.ArgumentTypeError(f"--shifts: {path}: {exc}") from None
    if not shifts or peak_staff(shifts) < 1:
        raise argparse.ArgumentTypeError(f"--shifts: {path} staffs no agent")
    return shifts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--agents", type=int, default=10, help="agents, all ready from the start")
    add("--shifts", type=parse_shifts, help="shift table (CSV or JSON) instead of --agents")
    add("--arrivals", type=parse_arrivals, required=True, help="CLASS[:CHANNEL]=PER_HOUR,...")
    add("--handle-seconds", type=float, default=300.0, help="mean handle time")
    add("--handle-dist", choices=("exponential", "lognormal"), default="exponential")
    add("--handle-cv", type=float, default=1.0, help="coefficient of variation (lognormal)")
    add("--patience-seconds", type=float, help="mean patience (exponential); none by default")
    add("--aging", type=float, help="priority per second waited (default: settings)")
    add("--class-weights", type=parse_numbers, help="CLASS=WEIGHT,... (default: settings)")
    add("--capacity", type=parse_counts, help="CHANNEL=N,... (default: settings)")
    add("--dedicated", type=parse_counts, default={}, help="CLASS=AGENTS: a pool of its own")
    add("--hours", type=float, default=200.0, help="simulated hours per replication")
    add("--warmup-hours", type=float, help="discarded at the start (default: a tenth)")
    add("--replications", type=int, default=5)
    add("--seed", type=int, default=1)
    add("--threshold-seconds", type=float, default=20.0, help="service-level threshold")
    add("--jobs", type=int, default=os.cpu_count() or 1, help="processes for replications")
    add("--staffing", action="store_true", help="search the fewest agents meeting --target")
    add("--target", type=parse_targets, default={}, help="CLASS=LEVEL@SECONDS,...")
    add("--json", action="store_true", help="print one JSON object")
    tables.add_arguments(parser)


def scenario_from(args: argparse.Namespace, settings: WorkerSettings) -> Scenario:
    weights = args.class_weights or settings.class_weights
    shifts: tuple[Shift, ...] = args.shifts or ()
    return Scenario(
        arrivals=args.arrivals,
        agents=peak_staff(shifts) if shifts else args.agents,
        shifts=shifts,
        handle=HandleTime(args.handle_seconds, args.handle_dist, args.handle_cv),
        hours=args.hours,
        patience_seconds=args.patience_seconds,
        warmup_hours=args.warmup_hours,
        dedicated=args.dedicated,
        class_weights=weights,
        aging_per_second=settings.aging_per_second if args.aging is None else args.aging,
        capacity={**settings.channel_capacity, **(args.capacity or {})},
        exclusive_channels=frozenset(settings.exclusive_channels),
        cross_channel_hold=(
            dict(settings.cross_channel_hold)
            if args.cross_channel_hold is None
            else {"voice": args.cross_channel_hold}
        ),
        handle_prior_seconds=dict(settings.handle_prior_seconds),
        relaxation=(
            tables.parse_steps(json.dumps(settings.relaxation_steps.get("*", [])))
            if args.relaxation is None
            else args.relaxation
        ),
        skills=tables.skills_of(args),
    )


def _cell(estimate: Estimate, digits: int) -> str:
    half = (estimate.high - estimate.low) / 2
    return f"{estimate.mean:.{digits}f} ±{half:.{digits}f}"


def _row(name: str, group: GroupSummary) -> str:
    return (
        f"{name:<18}{group.offered.mean:>10.0f}{group.answered.mean:>10.0f}"
        f"{group.abandoned.mean:>10.0f}{_cell(group.mean_wait, 1):>16}"
        f"{_cell(group.p90_wait, 1):>16}{_cell(group.service_level, 3):>16}"
    )


def format_table(summary: Summary) -> str:
    lines = [
        f"{'class':<18}{'offered':>10}{'answered':>10}{'abandoned':>10}"
        f"{'mean wait s':>16}{'p90 wait s':>16}{'service level':>16}"
    ]
    lines += [_row(cls, group) for cls, group in summary.classes.items()]
    lines += [_row(f"{cls}:{ch}", group) for (cls, ch), group in summary.channels.items()]
    lines.append("")
    for team, estimate in summary.team_occupancy.items():
        agents = summary.team_agents[team]
        lines.append(f"pool {team}: {agents} agents, occupancy {_cell(estimate, 3)}")
    lines.append(
        f"occupancy {_cell(summary.occupancy, 3)}; means of {summary.replications} "
        "replications, ± half the 95% confidence interval; service level at "
        + ", ".join(f"{c} {g.threshold_seconds:g}s" for c, g in summary.classes.items())
    )
    return "\n".join(lines)


def run(args: argparse.Namespace, settings: WorkerSettings) -> int:
    try:
        scenario = scenario_from(args, settings)
    except ValueError as exc:
        print(f"contactcenter simulate: {exc}", file=sys.stderr)
        return 2
    compared = tables.run_comparisons(args, scenario)
    if compared is not None:
        print(compared)
        return 0
    if args.staffing:
        if scenario.shifts:
            print(
                "contactcenter simulate: --staffing searches --agents, not --shifts",
                file=sys.stderr,
            )
            return 2
        if not args.target:
            print("contactcenter simulate: --staffing needs --target", file=sys.stderr)
            return 2
        staffing = fewest_agents(
            scenario, args.target, replications=args.replications, seed=args.seed, jobs=args.jobs
        )
        if args.json:
            body = staffing.summary.to_dict()
            body["agents"] = staffing.agents
            body["tried"] = {str(n): ok for n, ok in staffing.tried.items()}
            print(json.dumps(body))
        else:
            tried = ", ".join(f"{n}:{'yes' if ok else 'no'}" for n, ok in staffing.tried.items())
            print(f"fewest agents meeting every target: {staffing.agents} (tried {tried})\n")
            print(format_table(staffing.summary))
        return 0
    summary = simulate(
        scenario,
        replications=args.replications,
        seed=args.seed,
        threshold_seconds=args.threshold_seconds,
        thresholds={cls: t.threshold_seconds for cls, t in args.target.items()},
        jobs=args.jobs,
    )
    print(json.dumps(summary.to_dict()) if args.json else format_table(summary))
    return 0
