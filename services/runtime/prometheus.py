"""A Prometheus server started by the project (Debian's ``prometheus`` package, when it is
installed): on a free loopback port with a generated scrape configuration, queried through its
HTTP API. The local runtime starts one for the local processes; tests start their own."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from services.runtime import scrape_targets
from services.runtime.broker import free_port
from services.runtime.processes import LocalServer, terminate

ROOT = Path(__file__).resolve().parents[2]


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


class PrometheusServer(LocalServer):
    """``prometheus`` scraping ``targets`` (job → ports on 127.0.0.1) every ``interval``
    seconds and evaluating ``rule_files``, the alerts' runbook links starting with
    ``runbook_base`` (by default this checkout's files); data in ``data_dir``, stopped on
    exit.

    With ``target_dir`` the targets are files there (:mod:`services.runtime.scrape_targets`):
    ``targets`` are written as such files, and every process that registers itself in the
    directory is scraped too."""

    def __init__(
        self,
        data_dir: Path,
        targets: Mapping[str, Sequence[int]],
        *,
        rule_files: Sequence[Path] = (),
        interval: float = 1.0,
        runbook_base: str = ROOT.as_uri(),
        target_dir: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        every = f"{round(interval * 1000)}ms"
        self.targets = sum(len(ports) for ports in targets.values())
        self.config: dict[str, Any] = {
            "global": {
                "scrape_interval": every,
                "evaluation_interval": every,
                # the alerts' runbook_url is built from it (deploy/prometheus/alerts.yml)
                "external_labels": {"runbook_base": runbook_base},
            },
            "rule_files": [str(path) for path in rule_files],
            "scrape_configs": [
                {
                    "job_name": job,
                    "scrape_timeout": every,
                    "static_configs": [{"targets": [f"127.0.0.1:{port}" for port in ports]}],
                }
                for job, ports in targets.items()
            ],
        }
        if target_dir is not None:
            for job, ports in targets.items():
                for port in ports:
                    scrape_targets.register(target_dir, job, port)
            self.config["scrape_configs"] = scrape_targets.scrape_configs(target_dir, every)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PrometheusServer:
        if self._process is not None and self._process.poll() is None:
            return self  # already running: a second server would outlive stop()
        binary = prometheus_binary()
        if binary is None:
            raise RuntimeError("prometheus is not installed (Debian: apt-get install prometheus)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "prometheus.yml"
        config.write_text(json.dumps(self.config, indent=2))  # JSON is YAML
        self._process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.data_dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=open(self.data_dir / "prometheus.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_ready(timeout=30)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self._process is not None and self._process.poll() is not None:
                log = (self.data_dir / "prometheus.log").read_text()[-2000:]
                raise RuntimeError(f"prometheus exited: {log}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"Prometheus not ready after {timeout} s")
            time.sleep(0.1)

    def api(self, path: str, **params: str) -> Any:
        """``data`` of a successful API answer; an error answer raises with its message."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as r:
                answer = json.loads(r.read())
        except urllib.error.HTTPError as exc:
            answer = json.loads(exc.read())
        if answer.get("status") != "success":
            raise PromQLError(f"{answer.get('errorType')}: {answer.get('error')}")
        return answer["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector (or scalar, as one sample) of ``expr`` now."""
        data = self.api("query", query=expr)
        if data["resultType"] in {"scalar", "string"}:
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def wait_scraping(self, timeout: float = 30) -> None:
        """Wait until every target has been scraped up at least twice (the scrape loops start
        some seconds after Prometheus is ready)."""
        targets = self.targets
        deadline = time.monotonic() + timeout
        while len(self.query("count_over_time(up[1m]) >= 2 and up == 1")) < targets:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Prometheus has not scraped its {targets} targets")
            time.sleep(0.2)

    def stop(self) -> None:
        process, self._process = self._process, None
        terminate(process, timeout=10)


class PromQLError(RuntimeError):
    """Prometheus refused a query."""


def values(result: list[dict[str, Any]]) -> dict[frozenset[tuple[str, str]], float]:
    """labels → value of an instant query result."""
    return {frozenset(s["metric"].items()): float(s["value"][1]) for s in result}
