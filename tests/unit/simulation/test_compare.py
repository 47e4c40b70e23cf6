"""The comparisons behind the defaults, measured on short runs: a call offered over an open
chat shortens voice waits on a mixed load; relaxation trades match quality for wait; the
predicted wait is flagged rough before the pool has history."""

from __future__ import annotations

from streams.routing.domain.model import Channel
from streams.routing.domain.relaxation import RelaxStep
from streams.simulation import ArrivalStream, HandleTime, Scenario
from streams.simulation.compare import compare_hold, compare_relaxation, prediction_error
from streams.simulation.config import SkillMix


def _mixed(hours: float) -> Scenario:
    return Scenario(
        arrivals=(
            ArrivalStream("standard", Channel.VOICE, 80),
            ArrivalStream("standard", Channel.CHAT, 60),
            ArrivalStream("standard", Channel.EMAIL, 30),
        ),
        agents=10,
        handle=HandleTime(300),
        hours=hours,
        patience_seconds=600,
    )


def test_calls_wait_less_when_an_agent_holding_a_chat_may_be_offered_one() -> None:
    rows = compare_hold(_mixed(20), [0, 1], replications=2, seed=3, threshold_seconds=20, jobs=2)
    strict, allowed = rows
    assert allowed.channels["voice"].mean_wait.mean < strict.channels["voice"].mean_wait.mean
    # what calls gain, chats pay in part
    assert allowed.channels["chat"].mean_wait.mean >= strict.channels["chat"].mean_wait.mean


def test_relaxation_shortens_waits_and_lowers_the_match() -> None:
    scenario = Scenario(
        arrivals=(ArrivalStream("standard", Channel.VOICE, 90),),
        agents=10,
        handle=HandleTime(240),
        hours=20,
        patience_seconds=900,
        skills=SkillMix((3, 5, 7, 9), (4, 6, 8)),
    )
    none, widened = compare_relaxation(
        scenario,
        [("none", ()), ("after 30 s: 3 lower", (RelaxStep(30, lower_by=3),))],
        replications=2,
        seed=5,
        threshold_seconds=20,
        jobs=2,
    )
    assert none.full_match.mean == 1.0 and none.shortfall.mean == 0.0
    assert widened.figures.mean_wait.mean < none.figures.mean_wait.mean
    assert widened.full_match.mean < 1.0 and widened.shortfall.mean > 0.0


def test_the_estimate_is_rough_before_the_pool_has_history() -> None:
    scenario = Scenario(
        arrivals=(ArrivalStream("standard", Channel.VOICE, 70),),
        agents=3,
        handle=HandleTime(120),
        hours=1,
        warmup_hours=0,
        handle_prior_seconds={"voice": 600.0},  # a prior five times the actual handle time
    )
    error = prediction_error(scenario, replications=6, seed=9, jobs=2)
    assert error.cold_contacts > 0 and error.warm_contacts > 0
    assert error.cold_error.mean > error.warm_error.mean
