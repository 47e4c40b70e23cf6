"""The alert rules of deploy/prometheus/alerts.yml rendered for a test's Prometheus: every
rule's ``for:`` scaled by one factor, expressions untouched. A test then waits seconds instead
of minutes, and still sees each alert go pending first and fire only after its (scaled)
``for:``; what it checks of timing is relative to the rendered ``for:``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.support.dashboards import ROOT

RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(duration: str) -> float:
    """A Prometheus duration (``90s``, ``2m``, ``1h30m``) in seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * _UNITS[u] for n, u in parts)


def scaled_rules(
    path: Path, scale: float, thresholds: dict[str, tuple[str, str]] | None = None
) -> dict[str, float]:
    """Write the rules with every ``for:`` multiplied by ``scale`` to ``path``; return each
    alert's rendered ``for:`` in seconds. ``thresholds`` (alert → (text, replacement)) lowers
    a threshold in one alert's expression, for a test that cannot wait minutes for a wait to
    pass it; nothing else of the expression changes."""
    document: dict[str, Any] = yaml.safe_load(RULES.read_text())
    rendered: dict[str, float] = {}
    for group in document["groups"]:
        for rule in group["rules"]:
            old, new = (thresholds or {}).get(str(rule.get("alert")), ("", ""))
            if old:
                assert old in rule["expr"], (rule["alert"], old)
                rule["expr"] = rule["expr"].replace(old, new)
            if "for" in rule:
                value = round(seconds(str(rule["for"])) * scale, 3)
                rule["for"] = f"{round(value * 1000)}ms"
                rendered[str(rule.get("alert", rule.get("record")))] = value
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return rendered
