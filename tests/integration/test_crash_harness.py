"""The crash harness, short: real workers killed, scaled, fed duplicates and cut from
PostgreSQL under load, with every routing invariant checked afterwards."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from services.harness import report
from services.harness.load import LoadProfile
from services.harness.run import ScenarioConfig, ScenarioResult, run_scenario
from services.runtime.broker import LocalBroker

pytestmark = pytest.mark.integration

SHORT = ScenarioConfig(
    scenario="kill",
    events=1500,
    quiet_timeout=60.0,
    profile=LoadProfile(rate=15.0, pools=3, agents_per_pool=12, patience=(2.0, 12.0)),
)


async def run(
    broker: LocalBroker, postgres_server_url: str, tmp_path: Path, config: ScenarioConfig
) -> ScenarioResult:
    config = replace(config, log_dir=tmp_path)
    result = await run_scenario(config, broker.bootstrap_servers, postgres_server_url)
    assert result.violations == [], report.scenario_lines(result)
    assert result.events >= config.events
    assert result.completed > result.contacts // 2  # agents really worked through the load
    return result


@pytest.mark.timeout(180)
async def test_sigkilled_workers_lose_nothing_and_break_no_invariant(
    broker: LocalBroker, postgres_server_url: str, tmp_path: Path
) -> None:
    config = replace(SHORT, scenario="kill", kills=3)
    result = await run(broker, postgres_server_url, tmp_path, config)
    assert result.faults == "3 SIGKILL"


@pytest.mark.timeout(180)
async def test_every_input_twice_changes_nothing(
    broker: LocalBroker, postgres_server_url: str, tmp_path: Path
) -> None:
    config = replace(SHORT, scenario="duplicate", events=800)
    result = await run(broker, postgres_server_url, tmp_path, config)
    assert result.copies == result.events  # each input once more, same bytes


@pytest.mark.timeout(180)
async def test_workers_joining_stopping_and_killed_break_no_invariant(
    broker: LocalBroker, postgres_server_url: str, tmp_path: Path
) -> None:
    result = await run(broker, postgres_server_url, tmp_path, replace(SHORT, scenario="scale"))
    assert result.faults == "1 join, 1 SIGTERM, 1 SIGKILL"


@pytest.mark.timeout(180)
async def test_a_postgres_outage_under_load_breaks_no_invariant(
    broker: LocalBroker, postgres_server_url: str, tmp_path: Path
) -> None:
    config = replace(SHORT, scenario="pg-restart", outages=1)
    result = await run(broker, postgres_server_url, tmp_path, config)
    assert result.faults == "1 PostgreSQL outage"
