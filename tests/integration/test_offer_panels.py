"""The Agents dashboard's offer panels count a new pool's first offers.

Pools are not known in advance: routing creates a pool's offer counters with its first batch,
so a series can appear already at 3 (offers made in that batch). ``increase()`` and ``rate()``
take a series' first sample as their baseline and lose those. A real Prometheus scrapes a page
serving routing's series as a worker would: an old pool's counters at 0, then, a scrape
later, the old pool with one offer made and a new pool born at 3 made, 2 accepted, 1
rejected. The panels' queries (as provisioned) count all of them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from services.runtime.prometheus import PrometheusServer, prometheus_binary, values
from tests.support.dashboards import queries

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(prometheus_binary() is None, reason="prometheus is not installed"),
]

OUTCOMES = ("made", "accepted", "rejected", "expired", "rescinded")


def page(counts: dict[tuple[str, str], int]) -> bytes:
    lines = ["# TYPE contactcenter_offers_total counter"]
    for (pool, outcome), value in sorted(counts.items()):
        lines.append(f'contactcenter_offers_total{{pool="{pool}",outcome="{outcome}"}} {value}')
    return ("\n".join(lines) + "\n").encode()


@contextmanager
def metrics_page() -> Iterator[tuple[int, dict[tuple[str, str], int]]]:
    """A /metrics page serving ``counts`` (mutable) as routing's offer counters."""
    counts: dict[tuple[str, str], int] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page(counts)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_port), counts
    finally:
        server.shutdown()
        server.server_close()


def wait_scrapes(prometheus: PrometheusServer, query: str, expected: float) -> None:
    deadline = time.monotonic() + 20
    while list(values(prometheus.query(query)).values()) != [expected]:
        assert time.monotonic() < deadline, f"{query} never read {expected}"
        time.sleep(0.2)


def test_the_offer_panels_count_a_new_pools_first_offers(tmp_path: Path) -> None:
    panels = {q.panel: q.runnable for q in queries() if "contactcenter_offers_total" in q.text}
    per_minute = panels["Offers per minute by outcome"]
    acceptance = panels["Offer acceptance (15 min)"]
    with metrics_page() as (port, counts):
        counts.update({("old", outcome): 0 for outcome in OUTCOMES})
        with PrometheusServer(tmp_path / "prometheus", {"worker": [port]}, interval=0.5) as prom:
            prom.wait_scraping()
            counts[("old", "made")] = 1
            counts.update({("new", "made"): 3, ("new", "accepted"): 2, ("new", "rejected"): 1})
            wait_scrapes(prom, 'sum(contactcenter_offers_total{outcome="made"})', 4.0)

            # 2 accepted of 3 answered offers, all of them the new pool's first batch
            assert list(values(prom.query(acceptance)).values()) == [pytest.approx(2 / 3)]
            # 4 offers made in the window: the old pool's 1 (from its baseline 0), the new 3
            made = {dict(k)["outcome"]: v for k, v in values(prom.query(per_minute)).items()}
            assert made["made"] * 5 == pytest.approx(4, abs=0.5)
