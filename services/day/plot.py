"""The day as a picture (PNG): waits per class over the day, contacts waiting per class, and
the service level per interval against its target."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from services.day.report import DayReport

COLOURS = {"vip": "tab:red", "standard": "tab:blue"}


def _hours(seconds: list[float]) -> list[float]:
    return [s / 3600 for s in seconds]


def plot_day(report: DayReport, path: Path) -> Path:
    figure, (waits, depth, levels) = plt.subplots(3, 1, figsize=(10, 10), sharex=True)
    figure.suptitle(report.title)

    by_class: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for row in report.waits:
        xs, ys = by_class[row["customer_class"]]
        xs.append(row["day_second"])
        ys.append(row["wait"])
    for klass, (xs, ys) in sorted(by_class.items()):
        waits.scatter(_hours(xs), ys, s=8, alpha=0.6, label=klass, color=COLOURS.get(klass))
    for klass, seconds in report.thresholds.items():
        waits.axhline(seconds, linestyle=":", color=COLOURS.get(klass, "grey"), linewidth=1)
    waits.set_yscale("log")
    waits.set_ylabel("wait (s, day time)")
    waits.set_title("each contact's wait (answered or abandoned) by arrival")
    waits.legend(loc="upper right")

    times = sorted({row["day_second"] for row in report.depth})
    counts: dict[str, dict[float, int]] = defaultdict(dict)
    for row in report.depth:
        counts[row["customer_class"]][row["day_second"]] = row["waiting"]
    for klass, series in sorted(counts.items()):
        depth.step(
            _hours(times),
            [series.get(t, 0) for t in times],
            where="post",
            label=klass,
            color=COLOURS.get(klass),
        )
    depth.set_ylabel("contacts waiting")
    depth.set_title("queue depth per class")
    depth.legend(loc="upper right")

    levels_by_class: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for row in report.intervals:
        if row["service_level"] is not None:
            xs, ys = levels_by_class[row["customer_class"]]
            xs.append(row["day_second"])
            ys.append(row["service_level"] * 100)
    for klass, (xs, ys) in sorted(levels_by_class.items()):
        levels.plot(_hours(xs), ys, marker="o", label=klass, color=COLOURS.get(klass))
    for klass, ratio in report.targets.items():
        label = f"target {klass if klass != '*' else 'others'}"
        levels.axhline(ratio * 100, linestyle="--", color=COLOURS.get(klass, "grey"), label=label)
    levels.set_ylim(0, 105)
    levels.set_ylabel("service level %")
    levels.set_xlabel("hour of the day")
    levels.set_title("service level per interval (answered within the threshold)")
    levels.legend(loc="lower right")

    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path
