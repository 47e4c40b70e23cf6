"""Shift tables: the shared pool's agents log in at a shift's start and out at its end."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import pytest

from services.cli import main
from services.simulate import parse_shifts
from streams.routing.domain.model import Channel
from streams.simulation import (
    ArrivalStream,
    HandleTime,
    Scenario,
    Shift,
    peak_staff,
    run_replication,
)

H = 3600.0


def test_periods_repeat_daily_and_run_past_midnight() -> None:
    assert Shift(8, 16, 2).periods(2 * 86400) == [(8 * H, 16 * H), (32 * H, 40 * H)]
    assert Shift(22, 6, 1).periods(86400) == [(0.0, 6 * H), (22 * H, 30 * H)]
    assert Shift(0, 24, 1).periods(86400) == [(0.0, 24 * H)]
    assert peak_staff((Shift(6, 14, 3), Shift(10, 18, 2), Shift(22, 6, 1))) == 5
    with pytest.raises(ValueError):
        Shift(8, 25, 1)


def day(shifts: tuple[Shift, ...], agents: int = 1, **options: object) -> Scenario:
    return Scenario(
        arrivals=(ArrivalStream("standard", Channel.VOICE, 120.0),),
        agents=agents,
        handle=HandleTime(60.0),
        hours=48.0,
        warmup_hours=0.0,
        aging_per_second=0.0,
        shifts=shifts,
        **options,  # type: ignore[arg-type]
    )


def test_a_round_the_clock_shift_waits_like_constant_staff() -> None:
    """Agents out and in again at midnight: the same draws give the same waits."""
    constant = run_replication(day((), agents=3), 5).classes["standard"]
    shifted = run_replication(day((Shift(0, 0, 3),), agents=3), 5).classes["standard"]
    assert shifted.offered == constant.offered > 3000
    assert list(shifted.waits) == pytest.approx(list(constant.waits))


def test_nobody_answers_outside_the_shifts() -> None:
    """Staffed 8:00–20:00 only: callers outside give up (patience 10 min); occupancy counts
    the staffed hours alone."""
    scenario = day((Shift(8, 20, 3),), agents=3, patience_seconds=600.0)
    result = run_replication(scenario, 6)
    tally = result.classes["standard"]
    assert result.staffed_seconds == {"shared": 3 * 2 * 12 * H}
    assert tally.abandoned > 0.4 * tally.offered  # the 12 unstaffed hours
    assert tally.answered > 0.4 * tally.offered
    assert 0.2 < result.occupancy() < 1.0
    more = run_replication(replace(scenario, shifts=(Shift(8, 20, 3), Shift(20, 8, 3))), 6)
    assert more.classes["standard"].abandoned < 0.1 * tally.abandoned


def test_shift_tables_in_csv_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "shifts.csv"
    table.write_text("start_hour,end_hour,agents\n6,14,3\n14,22,2\n22,6,1\n")
    as_json = tmp_path / "shifts.json"
    as_json.write_text(json.dumps([{"start_hour": 6, "end_hour": 14, "agents": 3}, [14, 22, 2]]))
    assert parse_shifts(str(table)) == (Shift(6, 14, 3), Shift(14, 22, 2), Shift(22, 6, 1))
    assert parse_shifts(str(as_json)) == (Shift(6, 14, 3), Shift(14, 22, 2))
    broken = tmp_path / "broken.csv"
    broken.write_text("6,14\n")
    with pytest.raises(argparse.ArgumentTypeError):
        parse_shifts(str(broken))

    args = ["simulate", "--shifts", str(table), "--arrivals", "standard=60"]
    args += ["--handle-seconds", "60", "--hours", "24", "--replications", "2", "--jobs", "1"]
    assert main([*args, "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["teams"]["shared"]["agents"] == 3
    assert body["classes"]["standard"]["answered"] > 0
