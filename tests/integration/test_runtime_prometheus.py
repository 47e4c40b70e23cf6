"""``contactcenter runtime`` starts a real Prometheus (when installed) scraping the local
processes at their configured ports, with the alert rules loaded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from services.runtime.local import local_prometheus
from services.runtime.prometheus import prometheus_binary
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
