"""``contactcenter simulate`` from the command line: arguments, JSON, table, staffing."""

from __future__ import annotations

import argparse
import json

import pytest

from services.cli import main
from services.simulate import parse_arrivals, parse_targets

SMALL = ["simulate", "--agents", "3", "--handle-seconds", "60", "--hours", "4"]
SMALL += ["--replications", "2", "--seed", "1", "--jobs", "1"]


def test_arrivals_name_a_class_and_optionally_a_channel() -> None:
    streams = parse_arrivals("vip=130, standard:chat=40.5")
    assert [(s.customer_class, s.channel.value, s.per_hour) for s in streams] == [
        ("vip", "voice", 130.0),
        ("standard", "chat", 40.5),
    ]
    with pytest.raises(argparse.ArgumentTypeError):
        parse_arrivals("vip:fax=3")
    with pytest.raises(argparse.ArgumentTypeError):
        parse_arrivals("vip")


def test_targets_are_levels_at_seconds() -> None:
    targets = parse_targets("vip=0.9@20,standard=0.8@60")
    assert (targets["standard"].level, targets["standard"].threshold_seconds) == (0.8, 60.0)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_targets("vip=90@20")


def test_json_has_every_class_with_intervals(capsys: pytest.CaptureFixture[str]) -> None:
    args = [*SMALL, "--arrivals", "vip=20,standard=100", "--aging", "0", "--json"]
    assert main(args) == 0
    body = json.loads(capsys.readouterr().out)
    assert set(body["classes"]) == {"vip", "standard"}
    vip = body["classes"]["vip"]
    for key in ("mean_wait_seconds", "p90_wait_seconds", "service_level", "answered"):
        assert key in vip
    low, high = vip["mean_wait_ci95"]
    assert low <= vip["mean_wait_seconds"] <= high
    assert vip["abandoned"] == 0 and vip["answered"] == vip["offered"] > 0
    assert 0 < body["occupancy"] < 1
    assert "channels" not in body


def test_channels_and_dedicated_pools_show(capsys: pytest.CaptureFixture[str]) -> None:
    args = [*SMALL, "--arrivals", "vip:voice=20,vip:chat=20,standard=60"]
    assert main([*args, "--dedicated", "vip=1", "--patience-seconds", "30", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert set(body["channels"]) == {"vip:voice", "vip:chat", "standard:voice"}
    assert body["teams"]["vip"]["agents"] == 1 and body["teams"]["shared"]["agents"] == 2
    assert body["classes"]["standard"]["abandoned"] > 0


def test_table_and_staffing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SMALL, "--arrivals", "standard=120"]) == 0
    table = capsys.readouterr().out
    assert "standard" in table and "service level" in table and "occupancy" in table
    args = [*SMALL, "--arrivals", "standard=120", "--staffing", "--target", "standard=0.8@20"]
    assert main([*args, "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["agents"] >= 3 and body["tried"][str(body["agents"])] is True


def test_bad_scenario_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SMALL, "--arrivals", "vip=10", "--dedicated", "vip=3"]) == 2
    assert "dedicated" in capsys.readouterr().err
