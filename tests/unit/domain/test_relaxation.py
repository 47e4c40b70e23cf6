"""Relaxation widens a waiting contact's requirement at the configured time and not before,
each widening an explained decision timed from the inputs."""

from __future__ import annotations

import pytest

from streams.routing.domain import (
    AgentLoggedIn,
    Channel,
    ContactBecameServable,
    ContactMarkedUnservable,
    ContactRelaxed,
    OfferMade,
    PoolConfig,
    Router,
    Tick,
)
from streams.routing.domain.relaxation import RelaxStep, relaxed

from .scenario import Pool, kinds, of_type, only

STEPS = (
    RelaxStep(30, lower_by=3),
    RelaxStep(90, drop=frozenset({"warranty"})),
    RelaxStep(180, any_agent=True),
)


def _config(steps: tuple[RelaxStep, ...] = STEPS) -> PoolConfig:
    return PoolConfig(relaxation={"*": steps})


def test_the_requirement_after_each_step_is_a_pure_function_of_the_original() -> None:
    original = {"billing": 5, "warranty": 2, "lang_fr": 3}
    assert relaxed(original, STEPS, 0) == original
    assert relaxed(original, STEPS, 1) == {"billing": 2, "warranty": 1, "lang_fr": 3}
    assert relaxed(original, STEPS, 2) == {"billing": 2, "lang_fr": 3}
    assert relaxed(original, STEPS, 3) == {"lang_fr": 3}  # the language is kept
    named = (RelaxStep(10, drop=frozenset({"lang_fr"})),)
    assert relaxed(original, named, 1) == {"billing": 5, "warranty": 2}


def test_steps_must_be_in_increasing_time() -> None:
    with pytest.raises(ValueError, match="increasing"):
        PoolConfig(relaxation={"*": (RelaxStep(90, lower_by=1), RelaxStep(30, lower_by=1))})
    with pytest.raises(ValueError, match="lower, drop"):
        RelaxStep(30)


def test_a_contact_reaches_the_wider_ring_at_the_configured_time_and_not_before() -> None:
    pool = Pool(_config())
    pool.agent("junior", {"billing": 2})  # ready, but below the contact's billing 5
    arrived = pool.now
    assert of_type(pool.contact("c1", Channel.CHAT, skills={"billing": 5}), OfferMade) == []
    assert of_type(pool.tick(after=29.9), OfferMade) == []
    assert pool.contact_record("c1").relaxed == 0
    out = pool.tick(after=0.1)
    # nobody logged in had billing 5: unservable until the widening
    assert kinds(out) == ["contact_relaxed", "contact_servable", "offer_made"]
    widened = only(of_type(out, ContactRelaxed))
    assert (widened.step, widened.waited_seconds) == (1, 30.0)
    assert (widened.requirement_before, widened.requirement_after) == (
        "chat|billing>=5",
        "chat|billing>=2",
    )
    assert widened.reason == "after 30 s: proficiency 3 lower"
    offer = only(of_type(out, OfferMade))
    assert (offer.agent_id, offer.explanation.trigger) == ("junior", "relaxed")
    assert pool.contact_record("c1").arrived_at == arrived  # its place is kept


def test_any_input_that_moves_the_clock_past_a_step_applies_it() -> None:
    pool = Pool(_config())
    pool.contact("c1", Channel.CHAT, skills={"billing": 5})
    out = pool.send(AgentLoggedIn("a1", {"billing": 2}), after=45)
    assert kinds(out)[0] == "contact_relaxed"


def test_relaxation_makes_an_unservable_contact_servable() -> None:
    pool = Pool(_config())
    pool.agent("en-1", {"billing": 1})
    out = pool.contact("c1", Channel.CHAT, skills={"billing": 4, "warranty": 1})
    assert only(of_type(out, ContactMarkedUnservable)).requirement == "billing>=4+warranty>=1"
    first = pool.tick(after=30)  # billing 1, warranty 1: still nobody with warranty
    assert only(of_type(first, ContactMarkedUnservable)).requirement == "warranty>=1"
    second = pool.tick(after=60)  # warranty dropped: en-1 can take it
    assert kinds(second) == ["contact_relaxed", "contact_servable", "offer_made"]
    assert "relaxed after 90 s" in only(of_type(second, ContactBecameServable)).reason


def test_a_language_is_never_relaxed_away_unless_a_step_names_it() -> None:
    pool = Pool(_config())
    pool.agent("en-1", {"billing": 5})
    pool.contact("fr-1", Channel.CHAT, skills={"lang_fr": 1, "billing": 3})
    for _ in range(4):
        pool.tick(after=60)
    assert pool.contact_record("fr-1").skills == {"lang_fr": 1}
    assert pool.contact_record("fr-1").unservable == "lang_fr>=1"


def test_a_restored_router_relaxes_at_the_same_input() -> None:
    pool = Pool(_config())
    pool.contact("c1", Channel.CHAT, skills={"billing": 5})
    pool.tick(after=40)  # step 1 applied
    contacts, agents = pool.router.take_dirty()
    restored = Router.restore(
        _config(),
        "pool-1",
        [r for r in contacts.values() if r is not None],
        [r for r in agents.values() if r is not None],
        pool.router.clock,
    )
    later = pool.now + 50  # 90 s after arrival: step 2 due in both
    assert [d.to_dict() for d in restored.handle(Tick(), later)] == [
        d.to_dict() for d in pool.router.handle(Tick(), later)
    ]
    assert restored._contacts["c1"].relaxed == 2


def test_per_pool_steps_override_the_default() -> None:
    config = PoolConfig(relaxation={"*": STEPS, "vip-desk": ()})
    assert config.relaxation_steps("pool-1") == STEPS
    assert config.relaxation_steps("vip-desk") == ()


def test_a_step_that_changes_nothing_for_a_contact_is_not_announced() -> None:
    pool = Pool(_config())
    pool.agent("a1", {"billing": 1}, ready=False)
    pool.contact("c1", Channel.CHAT, skills={"billing": 1})  # 3 lower is still 1
    assert of_type(pool.tick(after=30), ContactRelaxed) == []
    assert pool.contact_record("c1").relaxed == 1  # the step is applied all the same
