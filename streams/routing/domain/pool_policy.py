"""A pool's own policy, set by an admin while the pool runs (``PoolPolicyChanged``): what it
overrides of the worker's defaults (``PoolConfig``), and what it states for people and
reports (service-level targets, business hours).

Routing uses ``class_weights`` and ``aging_per_second``; the service levels and business
hours travel with the pool (stored with its state, shown to supervisors). More fields (e.g.
relaxation steps, cross-channel concurrency) are added as optional fields: a field left
``None`` keeps the worker's default, and a row written before a field existed reads back
as ``None``."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from streams.routing.domain.model import PoolConfig

_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


@dataclass(frozen=True)
class ServiceLevelTarget:
    """``target`` (0–1) of a class's contacts answered within ``threshold_seconds``."""

    customer_class: str
    threshold_seconds: float
    target: float

    def __post_init__(self) -> None:
        if not self.customer_class:
            raise ValueError("a service-level target names its class")
        if not math.isfinite(self.threshold_seconds) or self.threshold_seconds <= 0:
            raise ValueError("threshold_seconds must be > 0")
        if not 0.0 <= self.target <= 1.0:
            raise ValueError("target must be between 0 and 1")


@dataclass(frozen=True)
class OpeningHours:
    """Open on ``weekday`` (0 = Monday) from ``opens`` to ``closes`` ("HH:MM", local time)."""

    weekday: int
    opens: str
    closes: str

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
        if not _CLOCK.match(self.opens) or not _CLOCK.match(self.closes):
            raise ValueError("opening hours are HH:MM")
        if self.closes <= self.opens:
            raise ValueError("a day closes after it opens")


@dataclass(frozen=True)
class PoolPolicy:
    """What an admin set for one pool; ``None`` keeps the worker's default."""

    class_weights: Mapping[str, float] | None = None
    aging_per_second: float | None = None
    service_levels: tuple[ServiceLevelTarget, ...] = ()
    business_hours: tuple[OpeningHours, ...] = ()
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        if self.class_weights is not None:
            if not self.class_weights:
                raise ValueError("class_weights must name at least one class")
            weights = {str(k): float(v) for k, v in sorted(self.class_weights.items())}
            if not all(math.isfinite(w) for w in weights.values()):
                raise ValueError("class weights must be finite")
            object.__setattr__(self, "class_weights", MappingProxyType(weights))
        aging = self.aging_per_second
        if aging is not None and (not math.isfinite(aging) or aging < 0):
            raise ValueError("aging_per_second must be >= 0")
        classes = [t.customer_class for t in self.service_levels]
        if len(set(classes)) != len(classes):
            raise ValueError("one service-level target per class")
        object.__setattr__(self, "service_levels", tuple(self.service_levels))
        object.__setattr__(self, "business_hours", tuple(self.business_hours))
        if not self.time_zone:
            raise ValueError("time_zone must not be empty")

    def applied_to(self, base: PoolConfig) -> PoolConfig:
        """The worker's defaults with what this policy sets."""
        changes: dict[str, Any] = {}
        if self.class_weights is not None:
            changes["class_weights"] = dict(self.class_weights)
        if self.aging_per_second is not None:
            changes["aging_per_second"] = self.aging_per_second
        return replace(base, **changes) if changes else base

    def to_row(self) -> dict[str, Any]:
        return {
            "class_weights": None if self.class_weights is None else dict(self.class_weights),
            "aging_per_second": self.aging_per_second,
            "service_levels": [
                {
                    "customer_class": t.customer_class,
                    "threshold_seconds": t.threshold_seconds,
                    "target": t.target,
                }
                for t in self.service_levels
            ],
            "business_hours": [
                {"weekday": h.weekday, "opens": h.opens, "closes": h.closes}
                for h in self.business_hours
            ],
            "time_zone": self.time_zone,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any] | None) -> PoolPolicy:
        """The policy stored as ``to_row()`` (fields missing from older rows: defaults)."""
        if not row:
            return cls()
        weights = row.get("class_weights")
        aging = row.get("aging_per_second")
        return cls(
            class_weights=None
            if weights is None
            else {str(k): float(v) for k, v in weights.items()},
            aging_per_second=None if aging is None else float(aging),
            service_levels=tuple(
                ServiceLevelTarget(
                    str(t["customer_class"]), float(t["threshold_seconds"]), float(t["target"])
                )
                for t in row.get("service_levels") or ()
            ),
            business_hours=tuple(
                OpeningHours(int(h["weekday"]), str(h["opens"]), str(h["closes"]))
                for h in row.get("business_hours") or ()
            ),
            time_zone=str(row.get("time_zone") or "UTC"),
        )
