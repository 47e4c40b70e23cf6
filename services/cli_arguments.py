"""The arguments of each ``contactcenter`` command (the commands themselves: ``services.cli``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def _features(text: str) -> list[str]:
    from streams.app import FEATURES

    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(FEATURES))
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown feature(s) {', '.join(unknown) or '(none given)'};"
            f" choose among {', '.join(FEATURES)}"
        )
    return chosen


def _export_schemas(command: argparse.ArgumentParser) -> None:
    command.add_argument("--out", default="schemas/json", help="output folder")
    command.add_argument(
        "--asyncapi", help="where to write the AsyncAPI document (default: OUT/asyncapi.yaml)"
    )


def _runtime(command: argparse.ArgumentParser) -> None:
    command.add_argument("--data-dir", help="keep PostgreSQL data here (default: temp)")


def _up(command: argparse.ArgumentParser) -> None:
    command.add_argument("--seed", action="store_true", help="load sample data")
    command.add_argument(
        "--dir", default=".contactcenter/up", help="logs and data (default: %(default)s)"
    )
    command.add_argument(
        "--free-ports", action="store_true", help="fresh ports, not the configured ones"
    )


def _demo(command: argparse.ArgumentParser) -> None:
    command.add_argument("--seed", type=int, default=1, help="fixes the day's plan")
    command.add_argument("--scale", type=float, default=120.0, help="day seconds per wall second")
    command.add_argument("--agents", type=int, default=8, help="the day's size follows")
    command.add_argument(
        "--dedicated-vip",
        action="store_true",
        help="run a second day with a separate VIP pool (same staff); both side by side",
    )
    command.add_argument("--out", default=".contactcenter/demo", help="report, plot, logs")


def _sign_webhook(command: argparse.ArgumentParser) -> None:
    from services.stack.sign import add_arguments

    add_arguments(command)


def _worker(command: argparse.ArgumentParser) -> None:
    from streams.app import FEATURES

    command.add_argument(
        "--features",
        type=_features,
        default=list(FEATURES),
        help=f"comma-separated feature modules to run (default: {','.join(FEATURES)})",
    )


def _desk(command: argparse.ArgumentParser) -> None:
    command.add_argument("--issue-token", metavar="AGENT", help="print a new desk token")
    command.add_argument("--pool", help="the agent's pool when the agent is new")


def _admin(command: argparse.ArgumentParser) -> None:
    from services.admin.cli import add_arguments

    add_arguments(command)


def _replay(command: argparse.ArgumentParser) -> None:
    from services.replay import add_arguments

    add_arguments(command)


def _routing_recover(command: argparse.ArgumentParser) -> None:
    from services.routing_recover import add_arguments

    add_arguments(command)


def _simulate(command: argparse.ArgumentParser) -> None:
    from services.simulate import add_arguments

    add_arguments(command)


def _crash_harness(command: argparse.ArgumentParser) -> None:
    from services.harness.run import SCENARIOS

    command.add_argument(
        "--scenario", choices=[*SCENARIOS, "all"], default="all", help="all runs each in turn"
    )
    command.add_argument("--events", type=int, default=20_000, help="inputs to publish at least")
    command.add_argument("--kills", type=int, default=10, help="SIGKILLs in the kill scenario")
    command.add_argument(
        "--outages", type=int, default=2, help="PostgreSQL outages in the pg-restart scenario"
    )
    command.add_argument("--rate", type=float, default=30.0, help="arrivals per second")
    command.add_argument("--pools", type=int, default=4)
    command.add_argument("--agents", type=int, default=18, help="agents per pool")
    command.add_argument("--seed", type=int, default=1)
    command.add_argument(
        "--log-dir", default=".contactcenter/harness", help="worker logs, one folder per run"
    )


ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "export-schemas": _export_schemas,
    "runtime": _runtime,
    "up": _up,
    "demo": _demo,
    "sign-webhook": _sign_webhook,
    "worker": _worker,
    "desk": _desk,
    "admin": _admin,
    "simulate": _simulate,
    "replay": _replay,
    "routing-recover": _routing_recover,
    "crash-harness": _crash_harness,
}
