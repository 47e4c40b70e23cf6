"""Predicted wait: the formula, and the accuracy of routing's prediction on the simulated
policy."""

from __future__ import annotations

import math

from streams.routing.domain.prediction import expected_wait, predicted_wait
from streams.simulation import run_replication
from tests.unit.simulation.scenarios import HANDLE, classes, single_class


def test_formula() -> None:
    assert predicted_wait(0, 4, 60.0) == 15.0
    assert predicted_wait(3, 4, 60.0) == 60.0
    assert predicted_wait(3, 4, 60.0, higher_erlangs=2.0) == 120.0
    assert predicted_wait(0, 4, 60.0, higher_erlangs=4.0) == math.inf
    assert predicted_wait(0, 0, 60.0) == math.inf


def test_free_slots_absorb_the_contacts_ahead() -> None:
    assert expected_wait(2, 3, 4, 60.0) == 0.0
    assert expected_wait(3, 1, 4, 60.0) == predicted_wait(2, 4, 60.0)
    assert expected_wait(0, 0, 0, 60.0) == math.inf


def constant_mae(waits: list[float], guess: float) -> float:
    return sum(abs(w - guess) for w in waits) / len(waits)


def test_beats_the_mean_wait_of_queued_contacts_as_a_guess() -> None:
    """FCFS: the best constant guess for a queued contact is the mean wait in queue,
    1 / (c·μ − λ); knowing the place in the queue must do better."""
    result = run_replication(single_class(10, 0.85, 6000), 31, predict=True)
    tally = result.classes["standard"]
    assert len(tally.predicted) > 1000
    guess = HANDLE / (10 - 8.5)
    assert tally.prediction_mae() < 0.8 * constant_mae(list(tally.queued_waits), guess)


def test_counts_higher_priority_arrivals() -> None:
    scenario = classes(12, {"vip": 2.2, "standard": 8.8}, 6000, aging_per_second=0.0)
    tally = run_replication(scenario, 32, predict=True).classes["standard"]
    waits = list(tally.queued_waits)
    mean = sum(waits) / len(waits)
    assert tally.prediction_mae() < 0.8 * constant_mae(waits, mean)
    signed = sum(p - w for p, w in zip(tally.predicted, waits, strict=True)) / len(waits)
    assert abs(signed) < 0.15 * mean
