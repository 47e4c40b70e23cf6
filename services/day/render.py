"""The report as a table: printed with rich, written as markdown; two days side by side."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from services.day.report import DayReport

COLUMNS = (
    ("class", "customer_class"),
    ("channel", "channel"),
    ("offered", "offered"),
    ("answered", "answered"),
    ("SL", "service_level"),
    ("SL+aband.", "service_level_abandons"),
    ("ASA s", "asa_seconds"),
    ("aband.", "abandonment_rate"),
    ("AHT s", "aht_seconds"),
)


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "–"
    if key in ("service_level", "service_level_abandons", "abandonment_rate"):
        return f"{value:.0%}"
    if isinstance(value, float):
        return f"{value:.0f}"
    return str(value)


def _ordered(report: DayReport) -> list[dict[str, Any]]:
    """Per class with its channels, the class subtotal after them; then per channel; total."""
    rows = sorted(
        report.rows,
        key=lambda r: (
            r["customer_class"] == "*",
            r["customer_class"],
            r["channel"] == "*",
            r["channel"],
        ),
    )
    return rows


def table_rows(report: DayReport) -> list[list[str]]:
    return [[_cell(key, row[key]) for _, key in COLUMNS] for row in _ordered(report)]


def summary_lines(report: DayReport) -> list[str]:
    thresholds = ", ".join(
        f"{k if k != '*' else 'others'} {v:.0f} s → {report.targets.get(k, 0):.0%}"
        for k, v in sorted(report.thresholds.items())
    )
    occupancy = report.occupancy.get("*")
    notices = report.notices.get("*", {})
    eligibility = report.eligibility
    lines = [
        f"service level = answered within the threshold / answered; SL+aband. counts"
        f" abandons within it as met (thresholds and targets: {thresholds})",
        "occupancy (handling / staffed): "
        + (f"{occupancy:.0%}" if occupancy is not None else "–")
        + "".join(
            f", pool {pool} {value:.0%}"
            for pool, value in sorted(report.occupancy.items())
            if pool != "*" and value is not None and len(report.occupancy) > 2
        ),
        "notices: "
        + (
            ", ".join(f"{k} {v}" for k, v in notices.items() if k != "notices")
            + " — by channel: "
            + "; ".join(
                f"{channel} {counts['sent']} sent, {counts['deferred']} deferred,"
                f" {counts['failed']} failed"
                for channel, counts in sorted(report.notices.items())
                if channel != "*"
            )
            if notices
            else "none"
        ),
        f"unservable contacts (no logged-in agent could take them):"
        f" {eligibility.get('unservable', 0):.0f}"
        + (
            f", longest wait {eligibility.get('unservable_longest_wait_seconds', 0):.0f} s"
            if eligibility.get("unservable")
            else ""
        )
        + f"; relaxations: {eligibility.get('relaxations', 0):.0f} widenings of"
        f" {eligibility.get('relaxed_contacts', 0):.0f} contacts",
    ]
    return lines


def print_report(console: Console, report: DayReport) -> None:
    table = Table(title=report.title)
    for header, key in COLUMNS:
        table.add_column(
            header, justify="left" if key in ("customer_class", "channel") else "right"
        )
    for row in table_rows(report):
        table.add_row(*row)
    console.print(table)
    for line in summary_lines(report):
        console.print(line)


def markdown(report: DayReport) -> str:
    headers = [header for header, _ in COLUMNS]
    lines = [
        f"### {report.title}",
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(report)]
    lines += ["", *(f"- {line}" for line in summary_lines(report)), ""]
    return "\n".join(lines)


def print_side_by_side(console: Console, shared: DayReport, dedicated: DayReport) -> None:
    table = Table(title="one shared pool with priority vs a dedicated VIP pool (same staff)")
    table.add_column("class")
    table.add_column("channel")
    for name in ("offered", "SL", "ASA s", "aband."):
        table.add_column(f"{name} shared", justify="right")
        table.add_column(f"{name} dedicated", justify="right")
    for row in _ordered(shared):
        other = dedicated.row(row["customer_class"], row["channel"]) or {}
        cells = [row["customer_class"], row["channel"]]
        for key in ("offered", "service_level", "asa_seconds", "abandonment_rate"):
            cells += [_cell(key, row.get(key)), _cell(key, other.get(key))]
        table.add_row(*cells)
    console.print(table)
