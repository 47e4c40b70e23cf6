"""The rules of outbound notices that do not depend on a shipment: channel by preference and
consent, quiet hours in the customer's time zone, the per-customer rate limit, compensation.

Pure and synchronous: every function takes ``now`` (or a moment) as an argument.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SMS = "sms"
EMAIL = "email"
CHANNELS = (SMS, EMAIL)


@dataclass(frozen=True)
class Customer:
    """What the notice rules need to know about a customer (a row of ``customers``)."""

    customer_id: str
    tier: str = "standard"
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    time_zone: str = "UTC"
    preferred_channel: str = SMS
    sms_consent: bool = True
    email_consent: bool = True


@dataclass(frozen=True)
class CompensationRule:
    min_delay_hours: float
    percent: int


@dataclass(frozen=True)
class NoticePolicy:
    """Thresholds in hours. ``compensation`` maps a tier to its rules; the rule with the largest
    ``min_delay_hours`` not above the delay applies. A carrier exception without a usable ETA
    counts as ``exception_delay_hours`` of delay for compensation and severity."""

    delay_threshold_hours: float = 4.0
    worse_by_hours: float = 24.0
    severe_delay_hours: float = 48.0
    exception_delay_hours: float = 24.0
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    rate_limit_count: int = 3
    rate_limit_window: timedelta = timedelta(hours=24)
    vip_tiers: frozenset[str] = frozenset({"vip"})
    compensation: Mapping[str, Sequence[CompensationRule]] = field(
        default_factory=lambda: {
            "vip": (CompensationRule(4, 10), CompensationRule(24, 20), CompensationRule(72, 30)),
            "standard": (CompensationRule(24, 5), CompensationRule(72, 10)),
        }
    )

    @staticmethod
    def compensation_from_mapping(
        raw: Mapping[str, Mapping[str, int]],
    ) -> dict[str, tuple[CompensationRule, ...]]:
        """``{"vip": {"4": 10, "24": 20}}`` (delay hours → percent) → rules."""
        return {
            tier: tuple(
                sorted(
                    (CompensationRule(float(hours), int(pct)) for hours, pct in rules.items()),
                    key=lambda r: r.min_delay_hours,
                )
            )
            for tier, rules in raw.items()
        }


def choose_channel(customer: Customer) -> str | None:
    """The preferred channel if the customer consented and we have the address, else the other
    one under the same conditions, else None. Never SMS without ``sms_consent``."""
    usable = {
        SMS: customer.sms_consent and bool(customer.phone),
        EMAIL: customer.email_consent and bool(customer.email),
    }
    preferred = customer.preferred_channel if customer.preferred_channel in usable else SMS
    for channel in (preferred, *(c for c in CHANNELS if c != preferred)):
        if usable[channel]:
            return channel
    return None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def in_quiet_hours(moment: datetime, time_zone: str, start: time, end: time) -> bool:
    local = moment.astimezone(zone(time_zone)).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # the window spans midnight


def after_quiet_hours(moment: datetime, time_zone: str, start: time, end: time) -> datetime:
    """``moment`` if it is outside quiet hours, else the end of the quiet window (the next local
    ``end`` time), as an aware datetime in the same zone as ``moment``."""
    if not in_quiet_hours(moment, time_zone, start, end):
        return moment
    tz = zone(time_zone)
    local = moment.astimezone(tz)
    candidate = datetime.combine(local.date(), end, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=tz)
    return candidate.astimezone(moment.tzinfo)


def rate_limit_release(
    sent_at: Sequence[datetime], now: datetime, count: int, window: timedelta
) -> datetime | None:
    """None if one more notice fits in the window ending ``now``; else when it will fit."""
    if count <= 0:
        return None
    recent = sorted(t for t in sent_at if t > now - window)
    if len(recent) < count:
        return None
    return recent[-count] + window


def earliest_send_time(
    now: datetime, customer: Customer, policy: NoticePolicy, sent_at: Sequence[datetime] = ()
) -> datetime:
    """The first moment at or after ``now`` outside quiet hours and within the rate limit."""
    moment = now
    for _ in range(4):  # a quiet-hours push only moves later, so this settles at once
        released = rate_limit_release(
            sent_at, moment, policy.rate_limit_count, policy.rate_limit_window
        )
        if released is not None and released > moment:
            moment = released
        shifted = after_quiet_hours(
            moment, customer.time_zone, policy.quiet_start, policy.quiet_end
        )
        if shifted == moment:
            break
        moment = shifted
    return moment


@dataclass(frozen=True)
class Compensation:
    percent: int
    text: str


def compensation_for(policy: NoticePolicy, tier: str, delay_hours: float) -> Compensation | None:
    rules = policy.compensation.get(tier) or policy.compensation.get("standard") or ()
    best: CompensationRule | None = None
    for rule in rules:
        if delay_hours >= rule.min_delay_hours and (
            best is None or rule.min_delay_hours > best.min_delay_hours
        ):
            best = rule
    if best is None or best.percent <= 0:
        return None
    return Compensation(best.percent, f"{best.percent}% off your next order")
