"""The ``contactcenter`` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from streams.platform.settings import (
    ConfigurationError,
    DeskSettings,
    GatewaySettings,
    NotifierSettings,
    PlatformSettings,
    Settings,
    WorkerSettings,
)

Handler = Callable[[argparse.Namespace, Any], int]


def _migrate(args: argparse.Namespace, settings: PlatformSettings) -> int:
    from streams.platform.migrations import migrate

    applied = asyncio.run(migrate(settings.require_database_url()))
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
    return 0


def _topics(args: argparse.Namespace, settings: PlatformSettings) -> int:
    from streams.platform.topics import ensure_topics

    created = asyncio.run(ensure_topics(settings.kafka_bootstrap_servers, settings.topic_prefix))
    print(f"created {len(created)} topic(s): {', '.join(created) or 'all existed'}")
    return 0


def _export_schemas(args: argparse.Namespace, settings: PlatformSettings) -> int:
    from schemas.codec import json_schemas

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    schemas = json_schemas()
    for type_name, schema in schemas.items():
        (out / f"{type_name}.v1.json").write_text(json.dumps(schema, indent=2, sort_keys=True))
    print(f"wrote {len(schemas)} JSON Schemas to {out}")
    return 0


def _start_ops(
    role: str,
    settings: PlatformSettings,
    metrics_port: int | None = None,
    scrape_port: int | None = None,
) -> None:
    """Export the role's known series at 0; probe the dependencies periodically (their
    gauges); serve /metrics, /healthz and /readyz on ``metrics_port`` (the gateway and the
    desk serve them on their own HTTP port, ``scrape_port``); with
    ``CC_PROMETHEUS_TARGETS_DIR`` register that port as a scrape target while the process
    runs."""
    from functools import partial

    from streams.guides.definitions import load_guides
    from streams.platform import metrics_roles, ops_server, readiness

    reasons = {"none", *(guide.reason for guide in load_guides() if guide.reason)}
    metrics_roles.initialise(role, settings.class_weights, sorted(reasons))
    readiness.start_probing(settings)
    if metrics_port is not None:
        ops_server.start_metrics_server(metrics_port, ready=partial(readiness.problems, settings))
    port = metrics_port if metrics_port is not None else scrape_port
    if settings.prometheus_targets_dir and port:
        import atexit

        from services.runtime import scrape_targets

        directory = Path(settings.prometheus_targets_dir)
        scrape_targets.register(directory, role, port)
        # a clean stop removes it; a crash leaves it, so Prometheus sees the process down
        atexit.register(scrape_targets.unregister, directory, role, port)


def _worker(args: argparse.Namespace, settings: WorkerSettings) -> int:
    from streams.app import create_app
    from streams.platform.worker import Worker

    _start_ops("worker", settings, settings.metrics_port)
    app = create_app(settings, features=tuple(args.features))
    Worker(
        app,
        shutdown_timeout=settings.worker_shutdown_timeout,
        loglevel=settings.log_level.lower(),
        quiet=True,
    ).execute_from_commandline()
    return 0


def _runtime(args: argparse.Namespace, settings: Settings) -> int:
    from services.runtime.local import run_local_runtime

    return run_local_runtime(settings, data_dir=Path(args.data_dir) if args.data_dir else None)


def _notifier(args: argparse.Namespace, settings: NotifierSettings) -> int:
    from services.notifier.main import serve

    _start_ops("notifier", settings, settings.notifier_metrics_port)
    asyncio.run(serve(settings))
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from services.day.run import run_demo

    return run_demo(
        settings,
        out=Path(args.out),
        seed=args.seed,
        scale=args.scale,
        agents=args.agents,
        dedicated_vip=args.dedicated_vip,
    )


def _up(args: argparse.Namespace, settings: Settings) -> int:
    from services.stack.up import run_up

    return run_up(settings, Path(args.dir), with_seed=args.seed, free_ports=args.free_ports)


def _sign_webhook(args: argparse.Namespace, settings: Settings) -> int:
    from services.stack.sign import run

    return run(args, settings)


def _gateway(args: argparse.Namespace, settings: GatewaySettings) -> int:
    from services.gateway.app import serve

    _start_ops("gateway", settings, scrape_port=settings.gateway_port)
    asyncio.run(serve(settings))
    return 0


def _simulate(args: argparse.Namespace, settings: WorkerSettings) -> int:
    from services.simulate import run

    return run(args, settings)


def _replay(args: argparse.Namespace, settings: WorkerSettings) -> int:
    from services.replay import run

    return run(args, settings)


def _routing_recover(args: argparse.Namespace, settings: WorkerSettings) -> int:
    from services.routing_recover import run

    return run(args, settings)


def _desk(args: argparse.Namespace, settings: DeskSettings) -> int:
    from services.desk.app import serve
    from services.desk.auth import issue_token_command

    if args.issue_token:
        return asyncio.run(issue_token_command(settings, args.issue_token, args.pool))
    _start_ops("desk", settings, scrape_port=settings.desk_port)
    asyncio.run(serve(settings))
    return 0


def _crash_harness(args: argparse.Namespace, settings: Settings) -> int:
    from services.harness.load import LoadProfile
    from services.harness.run import SCENARIOS, ScenarioConfig, run_command

    scenarios = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    template = ScenarioConfig(
        scenario=scenarios[0],
        events=args.events,
        kills=args.kills,
        outages=args.outages,
        seed=args.seed,
        log_dir=Path(args.log_dir),
        profile=LoadProfile(rate=args.rate, pools=args.pools, agents_per_pool=args.agents),
    )
    return run_command(template, scenarios, settings)


# each command reads the settings of the process it runs, once
COMMANDS: dict[str, tuple[str, Handler, type[PlatformSettings]]] = {
    "up": (
        "start the whole local stack (broker, PostgreSQL, worker, gateway, desk, notifier)"
        " as one supervised group; Ctrl-C stops it",
        _up,
        Settings,
    ),
    "sign-webhook": (
        "sign a Twilio webhook for the local gateway; --send posts it",
        _sign_webhook,
        Settings,
    ),
    "runtime": (
        "start the local broker and PostgreSQL, create topics, migrate; wait",
        _runtime,
        Settings,
    ),
    "migrate": ("apply SQL migrations to DATABASE_URL", _migrate, PlatformSettings),
    "topics": ("create the topics on KAFKA_BOOTSTRAP_SERVERS", _topics, PlatformSettings),
    "export-schemas": ("write one JSON Schema per record type", _export_schemas, PlatformSettings),
    "worker": (
        "run a streams worker (routing and the other stream features)",
        _worker,
        WorkerSettings,
    ),
    "demo": (
        "a working day through the gateway, desk and notifier on the local stack; its report"
        " and plot",
        _demo,
        Settings,
    ),
    "notifier": (
        "send due notices (Twilio SMS, SMTP email); serve status callbacks",
        _notifier,
        NotifierSettings,
    ),
    "gateway": (
        "serve Twilio voice/SMS webhooks, inbound e-mail (SMTP) and web chat",
        _gateway,
        GatewaySettings,
    ),
    "desk": (
        "serve the agent desk (offers, screen pop, replies); --issue-token AGENT",
        _desk,
        DeskSettings,
    ),
    "simulate": (
        "run the routing policy in virtual time; service levels, staffing",
        _simulate,
        WorkerSettings,
    ),
    "replay": (
        "reproduce a pool's recorded routing decisions and compare them (--pool, --from, --to)",
        _replay,
        WorkerSettings,
    ),
    "routing-recover": (
        "after routing found its log gone backwards (broker restarted empty, topic recreated):"
        " move the stored offsets back and let routing go on (--partition, --pool)",
        _routing_recover,
        WorkerSettings,
    ),
    "crash-harness": (
        "run routing under load and faults (kills, scale, duplicates, PostgreSQL restarts);"
        " check its invariants",
        _crash_harness,
        Settings,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    from services.cli_arguments import ARGUMENTS

    parser = argparse.ArgumentParser(
        prog="contactcenter",
        description="Event-driven multichannel contact-center backbone.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, _handler, _settings) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if name in ARGUMENTS:
            ARGUMENTS[name](command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _help, handler, settings_class = COMMANDS[args.command]
    settings = settings_class()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        return handler(args, settings)
    except ConfigurationError as exc:
        print(f"contactcenter {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
