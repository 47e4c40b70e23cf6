"""The engine drives the real policy: with one class it is, path by path, the first-come
first-served M/M/c queue, and with strict priority the non-preemptive priority queue;
contacts are conserved; patience, pools and seeds behave."""

from __future__ import annotations

import random

import pytest

from streams.routing.domain.model import Channel
from streams.simulation import ArrivalStream, HandleTime, Scenario, run_replication
from tests.unit.simulation.reference import priority_waits
from tests.unit.simulation.scenarios import HANDLE, classes, single_class


def reference_waits(scenario: Scenario, seed: int, servers: int | None = None) -> list[float]:
    rates = [stream.per_hour / 3600 for stream in scenario.arrivals]
    agents = servers or scenario.agents
    waits = priority_waits(rates, agents, HANDLE, scenario.end, seed, scenario.warmup)
    return [w for stream in waits for w in stream]


@pytest.mark.parametrize(("agents", "rho"), [(2, 0.7), (10, 0.85), (50, 0.95)])
def test_one_class_is_fcfs_mmc_path_by_path(agents: int, rho: float) -> None:
    scenario = single_class(agents, rho, 3000)
    result = run_replication(scenario, 7)
    simulated = sorted(result.classes["standard"].waits)
    expected = sorted(reference_waits(scenario, 7))
    assert len(simulated) == len(expected) > 2500
    assert simulated == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("rho", [0.8, 0.95])
def test_strict_priority_is_the_priority_queue_path_by_path(rho: float) -> None:
    loads = {"gold": 2.0 * rho, "silver": 3.0 * rho, "bronze": 5.0 * rho}
    scenario = classes(10, loads, 3000, aging_per_second=0.0)
    result = run_replication(scenario, 8)
    rates = [stream.per_hour / 3600 for stream in scenario.arrivals]
    expected = priority_waits(rates, 10, HANDLE, scenario.end, 8, scenario.warmup)
    for name, waits in zip(loads, expected, strict=True):
        simulated = sorted(result.classes[name].waits)
        assert simulated == pytest.approx(sorted(waits), abs=1e-6), name


def test_contacts_are_conserved_and_patience_abandons() -> None:
    scenario = single_class(5, 1.1, 4000, patience_seconds=30.0)
    result = run_replication(scenario, 3)
    tally = result.classes["standard"]
    assert tally.offered == tally.answered + tally.abandoned
    assert tally.abandoned > 0.05 * tally.offered
    served_erlangs = tally.answered * HANDLE / result.window_seconds
    assert result.occupancy() * scenario.agents == pytest.approx(served_erlangs, rel=0.05)


def test_without_patience_nobody_abandons() -> None:
    tally = run_replication(single_class(3, 0.9, 3000), 3).classes["standard"]
    assert tally.abandoned == 0
    assert tally.answered == tally.offered


def test_same_seed_same_run_other_seed_other_run() -> None:
    scenario = single_class(4, 0.8, 2000)
    first, again, other = (run_replication(scenario, s) for s in (5, 5, 6))
    assert list(first.classes["standard"].waits) == list(again.classes["standard"].waits)
    assert list(first.classes["standard"].waits) != list(other.classes["standard"].waits)


def test_occupancy_is_the_offered_load_per_agent() -> None:
    result = run_replication(single_class(8, 0.75, 10000), 2)
    assert result.occupancy() == pytest.approx(0.75, rel=0.03)


def test_a_dedicated_pool_serves_only_its_class() -> None:
    scenario = classes(6, {"vip": 1.0, "standard": 3.0}, 4000, dedicated={"vip": 2})
    result = run_replication(scenario, 4)
    assert result.team_agents == {"shared": 4, "vip": 2}
    vip_share = result.busy_seconds["vip"] / (
        result.busy_seconds["vip"] + result.busy_seconds["shared"]
    )
    assert vip_share == pytest.approx(0.25, abs=0.03)


def test_a_chat_agent_of_capacity_three_is_three_servers() -> None:
    scenario = Scenario(
        arrivals=(ArrivalStream("standard", Channel.CHAT, 150.0),),
        agents=1,
        handle=HandleTime(60.0),
        hours=20.0,
        capacity={"chat": 3},
    )
    waits = sorted(run_replication(scenario, 1).classes["standard"].waits)
    assert waits == pytest.approx(sorted(reference_waits(scenario, 1, servers=3)), abs=1e-6)


def test_lognormal_handle_times_keep_their_mean() -> None:
    rng = random.Random(1)
    draw = HandleTime(100.0, "lognormal", 0.5).sampler(rng)
    values = [draw() for _ in range(50000)]
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
    assert mean == pytest.approx(100.0, rel=0.02)
    assert sd / mean == pytest.approx(0.5, rel=0.05)
