"""The local runtime: broker and PostgreSQL started by the project itself."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from services.runtime.broker import LocalBroker
from services.runtime.postgres import EmbeddedPostgres, create_database
from services.runtime.prometheus import PrometheusServer, prometheus_binary
from streams.platform.settings import Settings


@contextmanager
def local_runtime(
    settings: Settings, *, data_dir: Path | None = None, own_broker: bool = True
) -> Iterator[Settings]:
    """Start what ``settings`` does not point at; yield settings that point at it all, with
    topics created and migrations applied."""
    from streams.platform.migrations import migrate
    from streams.platform.topics import ensure_topics

    with ExitStack() as stack:
        updates: dict[str, object] = {}
        if own_broker:
            broker = stack.enter_context(LocalBroker())
            updates["kafka_bootstrap_servers"] = broker.bootstrap_servers
        if settings.database_url is None:
            postgres = stack.enter_context(EmbeddedPostgres(data_dir))
            updates["database_url"] = postgres.url
        ready = settings.with_values(**updates)

        async def prepare() -> None:
            await ensure_topics(ready.kafka_bootstrap_servers, ready.topic_prefix)
            await migrate(ready.require_database_url())

        asyncio.run(prepare())
        yield ready


async def isolated_settings(
    bootstrap_servers: str, postgres_server_url: str, **values: object
) -> Settings:
    """Settings for a deployment of its own on shared servers: freshly created topics (a
    unique prefix), a fresh migrated database and its own consumer group, plus ``values``."""
    from streams.platform.migrations import migrate
    from streams.platform.topics import ensure_topics

    prefix = f"t{uuid.uuid4().hex[:8]}."
    await ensure_topics(bootstrap_servers, prefix)
    url = await create_database(postgres_server_url)
    await migrate(url)
    return Settings().with_values(
        kafka_bootstrap_servers=bootstrap_servers,
        database_url=url,
        topic_prefix=prefix,
        app_id=f"cc-{prefix.rstrip('.')}",
        **values,
    )


ROOT = Path(__file__).resolve().parents[2]
ALERT_RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"


def local_prometheus(
    settings: Settings, data_dir: Path, target_dir: Path | None = None
) -> PrometheusServer | None:
    """A Prometheus with the alert rules, when Debian's ``prometheus`` is installed (None
    otherwise), scraping the local processes at their configured ports and every process
    that registers itself in ``target_dir`` (by default ``data_dir/targets``: processes started
    with ``CC_PROMETHEUS_TARGETS_DIR`` set to it, a second worker on another port included)."""
    if prometheus_binary() is None:
        return None
    targets = {
        "worker": [settings.metrics_port],
        "gateway": [settings.gateway_port],
        "desk": [settings.desk_port],
        "notifier": [settings.notifier_metrics_port],
    }
    rules = [ALERT_RULES] if ALERT_RULES.exists() else []
    return PrometheusServer(
        data_dir,
        targets,
        rule_files=rules,
        interval=5.0,
        runbook_base=settings.runbook_base_url or ROOT.as_uri(),
        target_dir=target_dir or data_dir / "targets",
    )


def run_local_runtime(settings: Settings, data_dir: Path | None = None) -> int:
    with local_runtime(settings, data_dir=data_dir) as ready, ExitStack() as stack:
        home = data_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        prometheus = local_prometheus(ready, home / "prometheus")
        if prometheus is not None:
            stack.enter_context(prometheus)
        print("local runtime is up; in another shell:")
        print(f"  export KAFKA_BOOTSTRAP_SERVERS={ready.kafka_bootstrap_servers}")
        print(f"  export DATABASE_URL='{ready.require_database_url()}'")
        if prometheus is not None:
            # processes started with it register their own metrics port (a second worker too)
            print(f"  export CC_PROMETHEUS_TARGETS_DIR='{home / 'prometheus' / 'targets'}'")
        print("  contactcenter worker")
        if prometheus is not None:
            print(
                f"Prometheus (the worker, gateway, desk, notifier at their configured ports and"
                f" every process registered with CC_PROMETHEUS_TARGETS_DIR): {prometheus.url}"
            )
        print("Ctrl-C stops it.", flush=True)
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
    return 0
