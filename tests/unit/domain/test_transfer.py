"""Escalation: an assigned contact transferred to another skill's queue keeps its place by its
original arrival time; the transferring agent is freed; a redelivered transfer changes nothing."""

from __future__ import annotations

import pytest

from streams.routing.domain import (
    AgentNotReady,
    AgentReady,
    Channel,
    ContactAssigned,
    ContactCompleted,
    ContactRequeued,
    ContactTransferred,
    EventIgnored,
    OfferAccepted,
    OfferMade,
)

from .scenario import Pool, of_type, only

SPECIALIST = {"collections": 5}


def assigned(pool: Pool, contact_id: str, agent_id: str) -> None:
    offer = only(of_type(pool.contact(contact_id, Channel.VOICE), OfferMade))
    assert offer.agent_id == agent_id
    pool.send(OfferAccepted(offer.offer_id, agent_id), after=1)


def test_a_transferred_contact_keeps_its_place_in_the_other_queue() -> None:
    pool = Pool()
    pool.agent("a1")
    pool.agent("s1", SPECIALIST)
    offer_s = only(of_type(pool.contact("warmup", Channel.VOICE, skills=SPECIALIST), OfferMade))
    pool.send(OfferAccepted(offer_s.offer_id, "s1"))  # the specialist is busy
    arrived = pool.now + 5
    pool.wait(5)
    assigned(pool, "c1", "a1")
    pool.contact("c2", Channel.VOICE, skills=SPECIALIST, after=10)  # later, for collections

    out = pool.send(ContactTransferred("c1", "a1", SPECIALIST, "large arrears"), after=30)

    requeued = only(of_type(out, ContactRequeued))
    assert requeued == ContactRequeued("c1", "transferred", arrived)
    assert not of_type(out, OfferMade)  # a1 lacks the skill; s1 is busy
    freed = pool.send(ContactCompleted("warmup", "s1"), after=1)
    assert only(of_type(freed, OfferMade)).contact_id == "c1"  # ahead of c2, who came later


def test_the_agent_is_freed_for_other_work() -> None:
    pool = Pool()
    pool.agent("a1")
    assigned(pool, "c1", "a1")
    pool.contact("c3", Channel.VOICE, after=1)  # waits: a1 is on a call
    out = pool.send(ContactTransferred("c1", "a1", SPECIALIST))
    assert only(of_type(out, OfferMade)).contact_id == "c3"


def test_a_redelivered_transfer_is_recognised_by_its_event_id() -> None:
    pool = Pool()
    pool.agent("a1")
    assigned(pool, "c1", "a1")
    transfer = ContactTransferred("c1", "a1", SPECIALIST)
    first = pool.router.handle(transfer, pool.now + 1, input_id="t-1")
    assert of_type(first, ContactRequeued)
    again = pool.router.handle(transfer, pool.now + 2, input_id="t-1")
    assert again == [EventIgnored("duplicate_input", "t-1")]


@pytest.mark.parametrize(
    ("contact_id", "agent_id", "reason"),
    [("nope", "a1", "unknown_contact"), ("c1", "a2", "agent_mismatch")],
)
def test_a_transfer_that_does_not_apply_is_ignored(
    contact_id: str, agent_id: str, reason: str
) -> None:
    pool = Pool()
    pool.agent("a1")
    pool.agent("a2", ready=False)
    assigned(pool, "c1", "a1")
    out = pool.send(ContactTransferred(contact_id, agent_id, SPECIALIST))
    assert out == [EventIgnored(reason, contact_id)]


def test_a_transfer_needs_skills() -> None:
    with pytest.raises(ValueError):
        ContactTransferred("c1", "a1", {})


# ---------------------------------------------------------------- to a named agent


def busy_then_assigned(pool: Pool) -> float:
    """c1 arrives, a1 takes it; returns c1's arrival time."""
    arrived = pool.now
    assigned(pool, "c1", "a1")
    return arrived


def test_a_transfer_to_a_ready_agent_offers_the_contact_to_that_agent() -> None:
    pool = Pool()
    pool.agent("a1")
    arrived = busy_then_assigned(pool)
    pool.agent("b1")
    pool.agent("b2")  # idle longer than b1 would not matter: the transfer names b1
    out = pool.send(ContactTransferred("c1", "a1", {}, "refund agreed", to_agent_id="b1"), after=20)

    assert only(of_type(out, ContactRequeued)) == ContactRequeued("c1", "transferred", arrived)
    offer = only(of_type(out, OfferMade))
    assert (offer.contact_id, offer.agent_id, offer.offer_id) == ("c1", "b1", "c1:2")
    assert offer.explanation.trigger == "transfer"
    assert offer.explanation.reason == "transferred by an agent: refund agreed"
    assigned_out = pool.send(OfferAccepted("c1:2", "b1"), after=2)
    assert only(of_type(assigned_out, ContactAssigned)).agent_id == "b1"


def test_a_transfer_to_an_agent_who_cannot_take_it_waits_in_the_queue() -> None:
    pool = Pool()
    pool.agent("a1")
    busy_then_assigned(pool)
    pool.agent("b1", ready=False)
    pool.send(AgentNotReady("a1", "lunch"))  # the call stays with a1 until handed on
    out = pool.send(ContactTransferred("c1", "a1", {}, to_agent_id="b1"), after=5)
    assert EventIgnored("transfer_agent_not_ready", "b1") in out
    assert of_type(out, ContactRequeued)
    assert not of_type(out, OfferMade)  # a1 handed it on; b1 is not ready
    ready = pool.send(AgentReady("b1"), after=1)
    assert only(of_type(ready, OfferMade)).agent_id == "b1"


def test_a_transfer_to_an_agent_at_capacity_falls_back_to_another_agent_of_the_queue() -> None:
    pool = Pool()
    pool.agent("a1")
    busy_then_assigned(pool)
    pool.agent("b1")
    other = only(of_type(pool.contact("c2", Channel.VOICE), OfferMade))
    assert other.agent_id == "b1"
    pool.send(OfferAccepted(other.offer_id, "b1"))  # b1 is on a call
    pool.agent("b2")
    out = pool.send(ContactTransferred("c1", "a1", {}, to_agent_id="b1"), after=5)
    assert EventIgnored("transfer_agent_at_capacity", "b1") in out
    assert only(of_type(out, OfferMade)).agent_id == "b2"


def test_a_transfer_to_an_agent_with_skills_sets_the_queue_it_falls_back_to() -> None:
    pool = Pool()
    pool.agent("a1")
    busy_then_assigned(pool)
    pool.agent("s1", SPECIALIST)
    out = pool.send(ContactTransferred("c1", "a1", SPECIALIST, to_agent_id="nobody"), after=5)
    assert EventIgnored("transfer_agent_not_ready", "nobody") in out
    assert only(of_type(out, OfferMade)).agent_id == "s1"


def test_a_transfer_to_oneself_is_ignored() -> None:
    pool = Pool()
    pool.agent("a1")
    busy_then_assigned(pool)
    out = pool.send(ContactTransferred("c1", "a1", {}, to_agent_id="a1"))
    assert out == [EventIgnored("same_agent", "c1")]


def test_a_replayed_transfer_to_an_agent_gives_identical_decisions() -> None:
    def run() -> list[object]:
        pool = Pool()
        pool.agent("a1")
        busy_then_assigned(pool)
        pool.agent("b1")
        transfer = ContactTransferred("c1", "a1", {}, "note", to_agent_id="b1")
        first = pool.router.handle(transfer, pool.now + 3, input_id="x-1")
        again = pool.router.handle(transfer, pool.now + 4, input_id="x-1")
        assert again == [EventIgnored("duplicate_input", "x-1")]
        return list(first)

    assert run() == run()


def test_a_transfer_names_a_queue_or_an_agent() -> None:
    with pytest.raises(ValueError):
        ContactTransferred("c1", "a1", {}, to_agent_id="")
    assert ContactTransferred("c1", "a1", {}, to_agent_id="b1").skills == {}
