"""Escalation: an assigned contact transferred to another skill's queue keeps its place by its
original arrival time; the transferring agent is freed; a redelivered transfer changes nothing."""

from __future__ import annotations

import pytest

from streams.routing.domain import (
    Channel,
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
