"""What the routing design claims, measured: one shared pool with VIP priority against a
dedicated VIP pool at equal staff; aging trading VIP speed for the standard tail; the
fewest agents for a service-level target."""

from __future__ import annotations

import pytest

from streams.routing.domain.model import Channel
from streams.simulation import (
    ArrivalStream,
    HandleTime,
    Scenario,
    Target,
    fewest_agents,
    run_replication,
    simulate,
)
from streams.simulation.queueing import erlang_c_agents
from tests.unit.simulation.scenarios import HANDLE, classes, hours_for

SEED_RATES = {"vip": 130.0, "standard": 530.0}


def seed_scenario(contacts: int, **options: object) -> Scenario:
    return Scenario(
        arrivals=tuple(ArrivalStream(c, Channel.VOICE, r) for c, r in SEED_RATES.items()),
        agents=14,
        handle=HandleTime(HANDLE),
        hours=contacts / sum(SEED_RATES.values()) / 0.9,
        aging_per_second=0.0,
        **options,  # type: ignore[arg-type]
    )


def test_one_shared_pool_serves_vips_as_well_as_a_dedicated_team() -> None:
    shared = simulate(seed_scenario(3000), replications=2, seed=21, jobs=2)
    dedicated = simulate(seed_scenario(3000, dedicated={"vip": 4}), replications=2, seed=21, jobs=2)
    vip_shared, vip_dedicated = shared.classes["vip"], dedicated.classes["vip"]
    assert vip_shared.service_level.mean >= vip_dedicated.service_level.mean - 0.01
    assert vip_shared.mean_wait.mean <= vip_dedicated.mean_wait.mean
    assert shared.classes["standard"].mean_wait.mean < dedicated.classes["standard"].mean_wait.mean
    assert dedicated.team_occupancy["vip"].mean < 0.65  # the idle seats
    assert shared.occupancy.mean == pytest.approx(dedicated.occupancy.mean, rel=0.03)


def test_aging_shortens_the_standard_tail_at_a_cost_to_vips() -> None:
    def run(aging: float) -> tuple[float, float, float]:
        scenario = classes(10, {"vip": 6.0, "standard": 3.0}, 8000, aging_per_second=aging)
        result = run_replication(scenario, 22)
        vip, standard = result.classes["vip"], result.classes["standard"]
        return vip.service_level(20.0), max(standard.waits), standard.quantile(0.9)

    strict_vip, strict_longest, strict_p90 = run(0.0)
    aged_vip, aged_longest, aged_p90 = run(0.5)  # a standard contact outranks VIPs after 200 s
    assert aged_longest < 0.8 * strict_longest
    assert aged_p90 < strict_p90
    assert 0.6 <= aged_vip < strict_vip


def test_staffing_search_finds_the_erlang_c_size() -> None:
    per_hour = 4.0 / HANDLE * 3600
    scenario = Scenario(
        arrivals=(ArrivalStream("standard", Channel.VOICE, per_hour),),
        agents=1,
        handle=HandleTime(HANDLE),
        hours=hours_for(3000, 4.0),
        aging_per_second=0.0,
    )
    target = Target(0.9, 20.0)
    found = fewest_agents(scenario, {"standard": target}, replications=2, seed=23, jobs=2)
    assert found.agents == erlang_c_agents(4.0, HANDLE, 0.9, 20.0) == 7
    assert found.summary.classes["standard"].service_level.mean >= 0.9
    assert found.tried[6] is False


def test_staffing_meets_every_class_target() -> None:
    targets = {"vip": Target(0.9, 20.0), "standard": Target(0.8, 60.0)}
    found = fewest_agents(seed_scenario(3000), targets, replications=2, seed=24, jobs=2)
    classes_found = found.summary.classes
    assert classes_found["vip"].service_level.mean >= 0.9
    assert classes_found["standard"].service_level.mean >= 0.8
    assert classes_found["standard"].threshold_seconds == 60.0
    assert found.tried[found.agents - 1] is False
