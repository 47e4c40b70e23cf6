"""The command line: every subcommand is listed, and schemas export as valid JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.codec import RECORD_TYPES
from services.cli import COMMANDS, build_parser, main


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for name in ("runtime", "migrate", "topics", "export-schemas", "worker", "demo"):
        assert name in COMMANDS and name in out


def test_export_schemas_writes_one_file_per_record(tmp_path: Path) -> None:
    assert main(["export-schemas", "--out", str(tmp_path)]) == 0
    files = sorted(p.name for p in tmp_path.glob("*.json"))
    assert files == sorted(f"{t}.v1.json" for t in RECORD_TYPES)
    schema = json.loads((tmp_path / "offer_made.v1.json").read_text())
    assert schema["properties"]["type"] == {"const": "offer_made"}
    assert "explanation" in schema["properties"]


def test_unknown_subcommand_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["teleport"])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_worker_features_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["worker", "--features", "streams.routing.agents"])
    assert args.features == ["streams.routing.agents"]
    assert len(build_parser().parse_args(["worker"]).features) == 3
    with pytest.raises(SystemExit):
        build_parser().parse_args(["worker", "--features", "streams.teleport"])
    assert "unknown feature(s) streams.teleport" in capsys.readouterr().err
