"""The notice policy from the process settings (the worker's rules and the notifier's sends
read the same settings the same way)."""

from __future__ import annotations

from datetime import time, timedelta

from streams.notices.policy import NoticePolicy
from streams.platform.settings import NoticeRulesSettings


def _quiet(spec: str) -> tuple[time, time]:
    if not spec.strip():
        return time(0), time(0)  # an empty window: never quiet
    start, _, end = spec.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def notice_policy(settings: NoticeRulesSettings) -> NoticePolicy:
    start, end = _quiet(settings.notice_quiet_hours)
    return NoticePolicy(
        delay_threshold_hours=settings.notice_delay_threshold_hours,
        worse_by_hours=settings.notice_worse_by_hours,
        severe_delay_hours=settings.notice_severe_delay_hours,
        exception_delay_hours=settings.notice_exception_delay_hours,
        quiet_start=start,
        quiet_end=end,
        rate_limit_count=settings.notice_rate_limit_count,
        rate_limit_window=timedelta(hours=settings.notice_rate_limit_window_hours),
        vip_tiers=frozenset(settings.notice_vip_tiers),
        compensation=NoticePolicy.compensation_from_mapping(settings.notice_compensation),
    )
