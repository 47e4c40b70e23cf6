"""``contactcenter simulate``'s comparisons: their options and their tables (cross-channel
concurrency, relaxation against match quality, the predicted wait's error cold and warm)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from streams.routing.domain.relaxation import RelaxStep
from streams.simulation.compare import (
    ChannelFigures,
    compare_hold,
    compare_relaxation,
    prediction_error,
)
from streams.simulation.config import Scenario, SkillMix
from streams.simulation.statistics import Estimate


def parse_levels(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected levels like 2,5,8, got {text!r}") from None


def parse_steps(text: str) -> tuple[RelaxStep, ...]:
    """A JSON list of steps, as in CC_RELAXATION_STEPS."""
    try:
        return tuple(RelaxStep.parse(step) for step in json.loads(text))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise argparse.ArgumentTypeError(f"relaxation steps: {exc}") from None


def parse_settings(text: str) -> list[tuple[str, tuple[RelaxStep, ...]]]:
    """A JSON object: setting name → list of steps (``[]`` for none)."""
    try:
        body: Any = json.loads(text)
        return [(str(name), parse_steps(json.dumps(steps))) for name, steps in body.items()]
    except (ValueError, AttributeError) as exc:
        raise argparse.ArgumentTypeError(f"--compare-relaxation: {exc}") from None


def parse_holds(text: str) -> list[int]:
    return list(parse_levels(text))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--cross-channel-hold", type=int, help="open non-voice contacts a call may find (settings)")
    add("--compare-hold", type=parse_holds, help="N,N,...: a table of calls and chats per value")
    add("--relaxation", type=parse_steps, help="JSON list of steps (default: settings)")
    add("--compare-relaxation", type=parse_settings, help='{"name": [steps], ...}: a table')
    add("--agent-levels", type=parse_levels, help="proficiency of agent n: levels[n % len]")
    add("--required-levels", type=parse_levels, help="a contact needs one of these, at random")
    add("--prediction-error", action="store_true", help="the estimate's error cold and warm")


def skills_of(args: argparse.Namespace) -> SkillMix | None:
    if args.agent_levels is None and args.required_levels is None:
        return None
    return SkillMix(tuple(args.agent_levels or (10,)), tuple(args.required_levels or (1,)))


def _cell(estimate: Estimate, digits: int) -> str:
    half = (estimate.high - estimate.low) / 2
    return f"{estimate.mean:.{digits}f} ±{half:.{digits}f}"


def _figures(figures: ChannelFigures) -> list[str]:
    return [
        _cell(figures.mean_wait, 1),
        _cell(figures.p90_wait, 1),
        _cell(figures.service_level, 3),
    ]


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def run_comparisons(args: argparse.Namespace, scenario: Scenario) -> str | None:
    """The table the arguments ask for, or None when they ask for none."""
    common: dict[str, Any] = {
        "replications": args.replications,
        "seed": args.seed,
        "jobs": args.jobs,
    }
    threshold = args.threshold_seconds
    if args.compare_hold:
        rows = compare_hold(scenario, args.compare_hold, threshold_seconds=threshold, **common)
        channels = sorted(rows[0].channels)
        header = ["open contacts a call may find"]
        for ch in channels:
            header += [f"{ch} ASA s", f"{ch} p90 s", f"{ch} SL {threshold:g}s"]
        header.append("occupancy")
        body = [
            [str(row.hold), *[c for ch in channels for c in _figures(row.channels[ch])],
             _cell(row.occupancy, 3)]
            for row in rows
        ]  # fmt: skip
        return _table(header, body)
    if args.compare_relaxation:
        found = compare_relaxation(
            scenario, args.compare_relaxation, threshold_seconds=threshold, **common
        )
        header = ["relaxation", "ASA s", "p90 wait s", f"SL {threshold:g}s", "abandoned",
                  "met the original need", "levels short per contact"]  # fmt: skip
        body = [
            [row.name, *_figures(row.figures), _cell(row.abandoned, 3),
             _cell(row.full_match, 3), _cell(row.shortfall, 2)]
            for row in found
        ]  # fmt: skip
        return _table(header, body)
    if args.prediction_error:
        error = prediction_error(scenario, **common)
        header = ["estimate", "contacts that queued", "mean wait s", "mean absolute error s"]
        body = [
            ["cold (rough: prior or < 10 completions)", str(error.cold_contacts),
             _cell(error.cold_wait, 1), _cell(error.cold_error, 1)],
            ["warm", str(error.warm_contacts), _cell(error.warm_wait, 1),
             _cell(error.warm_error, 1)],
        ]  # fmt: skip
        return _table(header, body)
    return None
