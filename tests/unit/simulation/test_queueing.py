"""The closed-form results against textbook values and their own identities."""

from __future__ import annotations

import math

import pytest

from streams.simulation.queueing import (
    erlang_b,
    erlang_c,
    erlang_c_agents,
    mean_wait,
    priority_mean_waits,
    service_level,
)


def erlang_c_direct(c: int, a: float) -> float:
    """Erlang C from its defining sum, for small c."""
    head = sum(a**k / math.factorial(k) for k in range(c))
    tail = a**c / math.factorial(c) * c / (c - a)
    return tail / (head + tail)


@pytest.mark.parametrize(("c", "a"), [(1, 0.5), (2, 1.4), (5, 4.0), (10, 8.0), (20, 19.0)])
def test_erlang_c_equals_its_definition(c: int, a: float) -> None:
    assert erlang_c(c, a) == pytest.approx(erlang_c_direct(c, a), rel=1e-12)


def test_textbook_values() -> None:
    assert erlang_b(5, 3.0) == pytest.approx(0.1101, abs=1e-4)
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    assert erlang_c(2, 1.4) == pytest.approx(2 * 0.7**2 / (1 + 0.7))
    assert mean_wait(1, 0.5, 60.0) == pytest.approx(60.0)  # M/M/1: ρ/(1−ρ) handle times


def test_large_pools_stay_finite() -> None:
    value = erlang_c(1000, 950.0)
    assert 0 < value < 1
    assert erlang_c(10, 10.0) == 1.0
    assert mean_wait(10, 12.0, 60.0) == math.inf


def test_service_level_rises_with_agents_and_threshold() -> None:
    levels = [service_level(c, 8.0, 60.0, 20.0) for c in range(9, 16)]
    assert levels == sorted(levels)
    assert service_level(10, 8.0, 60.0, 0.0) == pytest.approx(1 - erlang_c(10, 8.0))


def test_cobham_conserves_the_fcfs_mean_wait() -> None:
    """Non-preemptive priority only reorders the same work: the load-weighted mean wait of
    the classes is the FCFS (Erlang C) mean wait."""
    loads = [2.0, 3.0, 4.5]
    waits = priority_mean_waits(10, loads, 60.0)
    assert waits == sorted(waits)
    weighted = sum(w * a for w, a in zip(waits, loads, strict=True)) / sum(loads)
    assert weighted == pytest.approx(mean_wait(10, sum(loads), 60.0))


def test_cobham_with_one_class_is_erlang_c() -> None:
    assert priority_mean_waits(7, [5.5], 30.0) == [pytest.approx(mean_wait(7, 5.5, 30.0))]


def test_erlang_c_staffing_is_the_first_size_meeting_the_target() -> None:
    agents = erlang_c_agents(8.0, 60.0, 0.8, 20.0)
    assert service_level(agents, 8.0, 60.0, 20.0) >= 0.8
    assert service_level(agents - 1, 8.0, 60.0, 20.0) < 0.8
