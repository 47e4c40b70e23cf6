"""The service-level stats turn green at each class's own target: the default target for every
class, and an override for each class with a target of its own (VIP: 0.9, not 0.8)."""

from __future__ import annotations

import re
from typing import Any

from tests.support.dashboards import ROOT, dashboards, panels

TARGETS_SQL = ROOT / "deploy" / "migrations" / "002_interaction_log.sql"


def targets() -> dict[str, float]:
    """customer class ('*': the default) → its seeded service-level target."""
    insert = re.search(r"INSERT INTO service_level_targets VALUES (.*);", TARGETS_SQL.read_text())
    assert insert is not None
    rows = re.findall(r"\('([^']+)', \d+, ([0-9.]+)\)", insert.group(1))
    return {klass: float(target) for klass, target in rows}


def green(thresholds: dict[str, Any]) -> float:
    return float(next(s["value"] for s in thresholds["steps"] if s["color"] == "green"))


def test_every_service_level_stat_is_green_from_its_class_target() -> None:
    seeded = targets()
    stats = [
        p
        for d in dashboards().values()
        for p in panels(d)
        if p["type"] == "stat" and p["title"].startswith("Service level")
    ]
    assert stats
    for stat in stats:
        config = stat["fieldConfig"]
        assert green(config["defaults"]["thresholds"]) == seeded["*"], stat["title"]
        overrides = {
            o["matcher"]["options"]: green(o["properties"][0]["value"])
            for o in config["overrides"]
            if o["properties"][0]["id"] == "thresholds"
        }
        classes = {klass: target for klass, target in seeded.items() if klass != "*"}
        assert overrides == {f"^{klass} .*": target for klass, target in classes.items()}, stat[
            "title"
        ]
        legend = {t.get("legendFormat") for t in stat["targets"]}
        assert legend == {"{{customer_class}} {{channel}}"}  # what the override matches
