"""Reading metrics: this process's registry, and a process's /metrics page."""

from __future__ import annotations

import urllib.request
from collections.abc import Mapping

from prometheus_client import REGISTRY, CollectorRegistry

from streams.platform.metrics import PREFIX

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return parse_exposition(response.read().decode())


def total(samples: Samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and wanted <= lab)


def sample_value(
    name: str, labels: Mapping[str, str] | None = None, registry: CollectorRegistry = REGISTRY
) -> float:
    """The current value of one sample (0.0 when it has not been recorded), e.g.
    ``sample_value("contactcenter_offers_total", {"pool": "p1", "outcome": "made"})`` or
    ``sample_value("contactcenter_wait_seconds_count", {...})``."""
    value = registry.get_sample_value(name, dict(labels or {}))
    return 0.0 if value is None else float(value)


def sample_total(
    name: str, labels: Mapping[str, str] | None = None, registry: CollectorRegistry = REGISTRY
) -> float:
    """The sum of every sample of ``name`` whose labels include ``labels``."""
    wanted = dict(labels or {})
    total = 0.0
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in wanted.items()):
                total += float(sample.value)
    return total


def parse_exposition(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Samples of a scraped ``/metrics`` page: (name, labels) → value (live checks)."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = float(sample.value)
    return out


def metric_names(registry: CollectorRegistry = REGISTRY) -> set[str]:
    """Every exported sample name of the project (``contactcenter_*``), histogram and counter
    suffixes included: what a dashboard query may name."""
    names: set[str] = set()
    for family in registry.collect():
        if not family.name.startswith(PREFIX):
            continue
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names.update(family.name + s for s in ("_bucket", "_sum", "_count"))
        else:
            names.add(family.name)
    return names


def metric_labels(registry: CollectorRegistry = REGISTRY) -> dict[str, set[str]]:
    """The label names of every exported sample name of the project (as in
    :func:`metric_names`; ``le`` on histogram buckets)."""
    out: dict[str, set[str]] = {}
    for name, collector in registry._names_to_collectors.items():
        if name in metric_names(registry):
            labels = set(getattr(collector, "_labelnames", ()))
            out[name] = labels | ({"le"} if name.endswith("_bucket") else set())
    return out
