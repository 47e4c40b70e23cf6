"""The policy, simulated, against queueing theory within 10%: Erlang C for one class, Cobham
for strict priority classes.

The mean wait of a queue near saturation converges slowly: its relative standard error
after n contacts was measured at about 5% (2 agents, ρ 0.7), 12% (10 agents, ρ 0.85) and 35%
(50 agents, ρ 0.95) for n = 40,000. The policy is therefore checked path by path against the
first-come first-served and the priority M/M/c queues at every load (test_engine); here those
queues are checked against the formulas over long runs, and the policy directly where a run
of a few seconds is precise enough. The README's tables have long runs of the policy."""

from __future__ import annotations

import pytest

from streams.simulation import simulate
from streams.simulation.queueing import mean_wait, priority_mean_waits, service_level
from tests.unit.simulation.reference import priority_waits
from tests.unit.simulation.scenarios import HANDLE, single_class


@pytest.mark.parametrize(("agents", "rho"), [(2, 0.7), (10, 0.8), (50, 0.9)])
def test_service_level_is_erlang_c(agents: int, rho: float) -> None:
    summary = simulate(single_class(agents, rho, 10000), replications=2, seed=11, jobs=2)
    measured = summary.classes["standard"].service_level.mean
    assert measured == pytest.approx(service_level(agents, agents * rho, HANDLE, 20.0), rel=0.1)


def test_mean_wait_is_erlang_c() -> None:
    summary = simulate(single_class(2, 0.7, 15000), replications=2, seed=12, jobs=2)
    measured = summary.classes["standard"].mean_wait.mean
    assert measured == pytest.approx(mean_wait(2, 1.4, HANDLE), rel=0.1)


def reference_waits(agents: int, loads: list[float], contacts: int) -> list[list[float]]:
    """Waits per class of the queue the policy equals path by path (test_engine)."""
    rates = [load / HANDLE for load in loads]
    end = contacts / sum(rates) / 0.9
    return priority_waits(rates, agents, HANDLE, end, seed=3, start=end / 10)


def reference_mean_waits(agents: int, loads: list[float], contacts: int) -> list[float]:
    return [sum(w) / len(w) for w in reference_waits(agents, loads, contacts)]


@pytest.mark.parametrize(("agents", "rho", "contacts"), [(2, 0.8, 300_000), (10, 0.85, 1_000_000)])
def test_the_queue_the_policy_equals_has_erlang_c_waits(
    agents: int, rho: float, contacts: int
) -> None:
    (measured,) = reference_mean_waits(agents, [agents * rho], contacts)
    assert measured == pytest.approx(mean_wait(agents, agents * rho, HANDLE), rel=0.1)


def test_the_queue_the_policy_equals_has_erlang_c_service_level_near_saturation() -> None:
    (waits,) = reference_waits(50, [47.5], 1_000_000)
    measured = sum(1 for w in waits if w <= 20.0) / len(waits)
    assert measured == pytest.approx(service_level(50, 47.5, HANDLE, 20.0), rel=0.1)


def test_the_queue_the_policy_equals_has_cobham_waits() -> None:
    loads = [1.5, 2.5, 4.0]
    measured = reference_mean_waits(10, loads, 600_000)
    expected = priority_mean_waits(10, loads, HANDLE)
    assert measured == pytest.approx(expected, rel=0.1)
