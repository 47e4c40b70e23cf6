"""``contactcenter runtime`` starts a real Prometheus (when installed) scraping the local
processes at their configured ports and every process registered in its target directory,
with the alert rules loaded; a temporary PostgreSQL leaves nothing behind."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from services.runtime import scrape_targets
from services.runtime.broker import free_port
from services.runtime.local import local_prometheus
from services.runtime.postgres import EmbeddedPostgres
from services.runtime.prometheus import prometheus_binary
from streams.platform import ops_server
from streams.platform.settings import Settings

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(prometheus_binary() is None, reason="prometheus is not installed"),
]


def test_the_local_prometheus_scrapes_every_process_and_loads_the_alerts(tmp_path: Path) -> None:
    settings = Settings(metrics_port=19101, gateway_port=18080, desk_port=18090).with_values(
        notifier_metrics_port=19103
    )
    server = local_prometheus(settings, tmp_path)
    assert server is not None
    with server:
        deadline = time.monotonic() + 20
        while not (targets := server.api("targets")["activeTargets"]):
            assert time.monotonic() < deadline, "no scrape target after 20 s"
            time.sleep(0.2)  # targets are discovered a moment after the server is ready
        scraped = {t["labels"]["job"]: t["scrapeUrl"] for t in targets}
        assert scraped == {
            "worker": "http://127.0.0.1:19101/metrics",
            "gateway": "http://127.0.0.1:18080/metrics",
            "desk": "http://127.0.0.1:18090/metrics",
            "notifier": "http://127.0.0.1:19103/metrics",
        }
        rules = [r["name"] for g in server.api("rules")["groups"] for r in g["rules"]]
        assert "DeadLettersIncreasing" in rules and len(rules) >= 9


def test_a_process_registered_in_the_target_directory_is_scraped_and_seen_down(
    tmp_path: Path,
) -> None:
    """A second worker registers its own port (as ``CC_PROMETHEUS_TARGETS_DIR`` makes every
    process do): Prometheus scrapes it beside the first; one whose process is gone without
    unregistering (a crash) stays a target and reads down."""
    first = ops_server.start_metrics_server(0)
    second = ops_server.start_metrics_server(0)
    crashed = free_port()  # registered, nothing answers there any more
    settings = Settings(metrics_port=first)
    server = local_prometheus(settings, tmp_path / "prometheus", tmp_path / "targets")
    assert server is not None
    with server:
        for port in (second, crashed):
            scrape_targets.register(tmp_path / "targets", "worker", port)
        deadline = time.monotonic() + 30
        while True:
            up = {
                s["metric"]["instance"]: float(s["value"][1])
                for s in server.query('up{job="worker"}')
            }
            if len(up) == 3:
                break
            assert time.monotonic() < deadline, f"worker targets after 30 s: {up}"
            time.sleep(0.5)
        assert up == {
            f"127.0.0.1:{first}": 1.0,
            f"127.0.0.1:{second}": 1.0,
            f"127.0.0.1:{crashed}": 0.0,
        }


def test_a_temporary_postgresql_leaves_no_folder_behind() -> None:
    server = EmbeddedPostgres().start()
    folder = server.data_dir.parent
    assert folder.exists()
    server.stop()
    assert not folder.exists()
