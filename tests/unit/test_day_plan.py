"""The day's plan: fixed by its seed, shaped by the intraday profile, sized by the staff."""

from __future__ import annotations

from services.day.plan import CHANNELS, PER_AGENT, DayConfig, make_plan

DIGITS = ["1", "2", "3"]


def test_the_same_seed_gives_the_same_day_and_another_seed_another() -> None:
    config = DayConfig(seed=5)
    assert make_plan(config, DIGITS) == make_plan(config, DIGITS)
    assert make_plan(DayConfig(seed=6), DIGITS).arrivals != make_plan(config, DIGITS).arrivals


def test_arrivals_peak_in_the_morning_and_the_afternoon() -> None:
    plan = make_plan(DayConfig(seed=1, agents=40), DIGITS)
    per_hour = [0] * 24
    for arrival in plan.arrivals:
        per_hour[int(arrival.at // 3600)] += 1
    assert per_hour[10] > per_hour[8] and per_hour[10] > per_hour[12]
    assert per_hour[14] > per_hour[12] and per_hour[14] > per_hour[16]
    assert all(8 * 3600 <= a.at < 17 * 3600 for a in plan.arrivals)


def test_volume_follows_the_staff_and_only_live_channels_hang_up() -> None:
    config = DayConfig(seed=2, agents=20)
    plan = make_plan(config, DIGITS)
    expected = sum(PER_AGENT.values()) * config.agents
    assert 0.85 * expected < len(plan.arrivals) < 1.15 * expected
    assert {a.channel for a in plan.arrivals} == set(CHANNELS)
    assert all(a.patience == float("inf") for a in plan.arrivals if a.channel in ("email", "sms"))
    assert all(a.ivr_digit in [*DIGITS, "0"] for a in plan.arrivals if a.channel == "voice")
    assert any(a.callback for a in plan.arrivals)
    assert not any(a.callback for a in plan.arrivals if a.channel != "voice")


def test_every_agent_has_a_shift_with_a_break_inside_it() -> None:
    config = DayConfig(seed=3, agents=9)
    plan = make_plan(config, DIGITS)
    assert len(plan.shifts) == 9
    for shift in plan.shifts:
        assert config.start <= shift.login < shift.break_at < shift.logout <= config.end
    assert any(s.shipment_id and s.delay_hours for s in plan.shipments)
