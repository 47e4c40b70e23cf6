from __future__ import annotations

from streams.routing.domain import (
    AgentLoggedOut,
    AgentNotReady,
    AgentReady,
    AgentStateChanged,
    Channel,
    ContactAssigned,
    ContactRequeued,
    EventIgnored,
    OfferAccepted,
    OfferDeclined,
    OfferExpired,
    OfferMade,
    OfferRejected,
    OfferRescinded,
    PoolConfig,
)

from .scenario import Pool, kinds, of_type, only


def test_offer_ids_and_expiry_are_deterministic() -> None:
    pool = Pool()
    pool.agent("a1")
    offer = only(of_type(pool.contact("c1"), OfferMade))
    assert (offer.offer_id, offer.attempt, offer.expires_at) == ("c1:1", 1, pool.now + 20)


def test_accept_assigns_with_waited_seconds() -> None:
    pool = Pool()
    pool.busy("a1", "v0")
    pool.contact("c1", Channel.VOICE, after=1)
    offer = only(of_type(pool.free("a1", "v0", after=30), OfferMade))
    assigned = only(
        of_type(pool.send(OfferAccepted(offer.offer_id, "a1"), after=4), ContactAssigned)
    )
    assert (assigned.contact_id, assigned.agent_id, assigned.waited_seconds) == ("c1", "a1", 34.0)


def test_reject_goes_to_another_agent_when_one_exists() -> None:
    pool = Pool()
    pool.agent("a1")
    pool.agent("a2")
    offer = only(of_type(pool.contact("c1"), OfferMade))
    out = pool.send(OfferRejected(offer.offer_id, offer.agent_id, "busy"))

    assert kinds(out) == ["offer_declined", "contact_requeued", "offer_made"]
    rejected = only(of_type(out, OfferDeclined))
    assert (rejected.contact_id, rejected.reason) == ("c1", "busy")
    second = only(of_type(out, OfferMade))
    assert (second.offer_id, second.attempt) == ("c1:2", 2)
    assert second.agent_id != offer.agent_id
    assert second.explanation.trigger == "requeued"
    assert "skipped 1 agent(s) who declined" in second.explanation.reason


def test_rejected_contact_keeps_its_place() -> None:
    pool = Pool(PoolConfig(aging_per_second=0.0))
    pool.busy("a1", "v1")
    pool.busy("a2", "v2")
    pool.contact("x", Channel.VOICE, after=1)
    pool.contact("y", Channel.VOICE, after=1)
    offer = only(of_type(pool.free("a1", "v1", after=1), OfferMade))
    assert offer.contact_id == "x"

    out = pool.send(OfferRejected(offer.offer_id, "a1"))
    requeued = only(of_type(out, ContactRequeued))
    assert requeued.arrived_at == pool.contact_record("x").arrived_at == pool.now - 2
    assert only(of_type(out, OfferMade)).contact_id == "y"  # a1 skips what it declined

    pool.contact("z", Channel.VOICE, after=1)
    assert only(of_type(pool.free("a2", "v2", after=1), OfferMade)).contact_id == "x"


def test_only_agent_gets_the_declined_contact_again() -> None:
    pool = Pool()
    pool.agent("a1")
    offer = only(of_type(pool.contact("c1"), OfferMade))
    out = pool.send(OfferRejected(offer.offer_id, "a1"))
    again = only(of_type(out, OfferMade))
    assert (again.agent_id, again.attempt) == ("a1", 2)
    assert "only agents who declined" in again.explanation.reason


def test_timeout_requeues_and_offers_to_another_agent() -> None:
    pool = Pool()
    pool.agent("a1")
    pool.agent("a2")
    offer = only(of_type(pool.contact("c1"), OfferMade))
    assert not of_type(pool.tick(after=19.9), OfferExpired)

    out = pool.tick(after=0.1)

    assert kinds(out) == ["offer_expired", "contact_requeued", "offer_made"]
    assert only(of_type(out, OfferMade)).agent_id != offer.agent_id
    assert pool.agent_record(offer.agent_id).missed_offers == 1


def test_missed_offers_set_the_agent_not_ready() -> None:
    pool = Pool(PoolConfig(max_missed_offers=3))
    pool.agent("a1")
    pool.contact("c1")
    for attempt in (2, 3):
        out = pool.tick(after=20)
        assert only(of_type(out, OfferExpired)).offer_id == f"c1:{attempt - 1}"
        assert only(of_type(out, OfferMade)).offer_id == f"c1:{attempt}"
    out = pool.tick(after=20)

    changed = only(of_type(out, AgentStateChanged))
    assert (changed.agent_id, changed.state, changed.reason) == ("a1", "not_ready", "missed_offers")
    assert not of_type(out, OfferMade)
    assert pool.router.agent_states() == {"logged_out": 0, "not_ready": 1, "ready": 0}
    assert [s.waiting for s in pool.router.queue_view()] == [1]

    back = pool.send(AgentReady("a1"))
    assert only(of_type(back, OfferMade)).offer_id == "c1:4"
    assert pool.agent_record("a1").missed_offers == 0


def test_accept_resets_missed_counter() -> None:
    pool = Pool()
    pool.agent("a1")
    pool.contact("c1")
    out = pool.tick(after=20)
    assert pool.agent_record("a1").missed_offers == 1
    pool.send(OfferAccepted(only(of_type(out, OfferMade)).offer_id, "a1"))
    assert pool.agent_record("a1").missed_offers == 0


def test_late_accept_is_ignored_and_expires_the_offer() -> None:
    pool = Pool()
    pool.agent("a1")
    offer = only(of_type(pool.contact("c1"), OfferMade))

    out = pool.send(OfferAccepted(offer.offer_id, "a1"), after=20)

    assert kinds(out)[:3] == ["event_ignored", "offer_expired", "contact_requeued"]
    assert only(of_type(out, EventIgnored)).reason == "offer_expired"
    assert not of_type(out, ContactAssigned)


def test_accept_after_tick_expiry_is_ignored() -> None:
    pool = Pool()
    pool.agent("a1")
    pool.agent("a2")
    offer = only(of_type(pool.contact("c1"), OfferMade))
    pool.tick(after=25)
    out = pool.send(OfferAccepted(offer.offer_id, offer.agent_id))
    assert out == [EventIgnored("offer_not_pending", offer.offer_id)]


def test_duplicate_and_foreign_and_unknown_accepts_are_ignored() -> None:
    pool = Pool()
    pool.agent("a1")
    pool.agent("a2")
    offer = only(of_type(pool.contact("c1"), OfferMade))
    other = "a2" if offer.agent_id == "a1" else "a1"

    assert pool.send(OfferAccepted(offer.offer_id, other)) == [
        EventIgnored("offer_agent_mismatch", offer.offer_id)
    ]
    assert of_type(pool.send(OfferAccepted(offer.offer_id, offer.agent_id)), ContactAssigned)
    assert pool.send(OfferAccepted(offer.offer_id, offer.agent_id)) == [
        EventIgnored("offer_already_accepted", offer.offer_id)
    ]
    assert pool.send(OfferAccepted("nope:1", "a1")) == [EventIgnored("unknown_offer", "nope:1")]
    assert pool.send(OfferRejected(offer.offer_id, offer.agent_id)) == [
        EventIgnored("offer_already_accepted", offer.offer_id)
    ]


def test_not_ready_withdraws_pending_offers_but_keeps_work() -> None:
    pool = Pool()
    pool.agent("a1")
    first = only(of_type(pool.contact("c1"), OfferMade))
    pool.send(OfferAccepted(first.offer_id, "a1"))
    pool.contact("c2", after=1)

    out = pool.send(AgentNotReady("a1", "lunch"))

    assert kinds(out) == ["agent_state_changed", "offer_rescinded", "contact_requeued"]
    rescinded = only(of_type(out, OfferRescinded))
    assert (rescinded.contact_id, rescinded.reason) == ("c2", "agent_not_ready")
    assert list(pool.agent_record("a1").work) == ["c1"]
    pool.agent("a2")
    assert only(of_type(pool.log[-1:], OfferMade)).contact_id == "c2"


def test_logout_withdraws_pending_offers_to_another_agent() -> None:
    pool = Pool()
    pool.agent("a1")
    pool.wait(1)
    pool.agent("a2")
    offer = only(of_type(pool.contact("c1"), OfferMade))
    assert offer.agent_id == "a1"

    out = pool.send(AgentLoggedOut("a1"))

    assert kinds(out) == [
        "agent_state_changed",
        "offer_rescinded",
        "contact_requeued",
        "offer_made",
    ]
    assert only(of_type(out, OfferMade)).agent_id == "a2"
    assert pool.send(AgentLoggedOut("a1")) == [EventIgnored("agent_logged_out", "a1")]
