"""The provisioned Grafana dashboards as data: panels, their queries, and the queries made
runnable outside Grafana (dashboard variables and Grafana's macros replaced)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"

# Grafana's interval variables, as Grafana would set them for a short time range
PROMQL_MACROS = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "5m",
    "${__rate_interval}": "1m",
    "${__interval}": "15s",
    "${__range}": "5m",
}
# Grafana's PostgreSQL macros, for "the last 6 hours"
SQL_WINDOW = ("now() - interval '6 hours'", "now() + interval '1 minute'")


@dataclass(frozen=True)
class Query:
    dashboard: str
    panel: str
    ref: str
    source: str  # the datasource type: prometheus or grafana-postgresql-datasource
    text: str  # as provisioned
    runnable: str  # variables and macros replaced

    @property
    def where(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref}"


def dashboards() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def _variables(dashboard: dict[str, Any]) -> dict[str, str]:
    """Each dashboard variable's current value (all values: a regex matching any)."""
    found: dict[str, str] = {}
    for variable in dashboard.get("templating", {}).get("list", []):
        value = variable.get("current", {}).get("value", ".*")
        if isinstance(value, list) or value in {"$__all", "All"}:
            value = ".*"
        found[variable["name"]] = str(value)
    return found


def _substitute(text: str, replacements: dict[str, str]) -> str:
    for name in sorted(replacements, key=len, reverse=True):
        text = text.replace(name, replacements[name])
    return text


def promql(expr: str, dashboard: dict[str, Any]) -> str:
    named: dict[str, str] = {}
    for name, value in _variables(dashboard).items():
        named[f"${{{name}}}"] = named[f"${name}"] = value
    return _substitute(_substitute(expr, PROMQL_MACROS), named)


def sql(text: str) -> str:
    start, end = SQL_WINDOW
    text = re.sub(r"\$__timeFilter\((\w+)\)", rf"\1 BETWEEN {start} AND {end}", text)
    return text.replace("$__timeFrom()", start).replace("$__timeTo()", end)


def queries() -> list[Query]:
    found: list[Query] = []
    for name, dashboard in dashboards().items():
        for panel in panels(dashboard):
            if panel["type"] == "row":
                continue
            source = panel["datasource"]["type"]
            for target in panel["targets"]:
                if source == "prometheus":
                    text, runnable = target["expr"], promql(target["expr"], dashboard)
                else:
                    text, runnable = target["rawSql"], sql(target["rawSql"])
                found.append(Query(name, panel["title"], target["refId"], source, text, runnable))
    return found
