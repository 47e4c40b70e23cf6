"""Prometheus's scrape targets as files in one directory (file-based service discovery).

Each process the project starts writes one file, ``<job>-<port>.json``, when it serves its
metrics (``CC_PROMETHEUS_TARGETS_DIR``), and removes it when it stops cleanly. Prometheus
watches the directory, so a second worker on another port is scraped as soon as it starts, and
a process that died without removing its file stays a target that is down (ScrapeTargetDown
fires) instead of vanishing from view.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

JOBS = ("worker", "gateway", "desk", "notifier")


def target_file(directory: Path, job: str, port: int) -> Path:
    return directory / f"{job}-{port}.json"


def register(directory: Path, job: str, port: int, host: str = "127.0.0.1") -> Path:
    """Add ``host:port`` as a target of ``job`` (atomically: Prometheus never reads half a
    file); idempotent."""
    directory.mkdir(parents=True, exist_ok=True)
    path = target_file(directory, job, port)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps([{"targets": [f"{host}:{port}"]}]))
    os.replace(partial, path)
    return path


def unregister(directory: Path, job: str, port: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        target_file(directory, job, port).unlink()


def scrape_configs(directory: Path, every: str) -> list[dict[str, Any]]:
    """One scrape job per kind of process, its targets the files of that job."""
    return [
        {
            "job_name": job,
            "scrape_timeout": every,
            "file_sd_configs": [{"files": [str(directory / f"{job}-*.json")]}],
        }
        for job in JOBS
    ]
