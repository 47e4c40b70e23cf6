from __future__ import annotations

from streams.routing.domain import Channel, ContactQueued, OfferAccepted, OfferMade, PoolConfig

from .scenario import Pool, of_type, only


def test_vip_overtakes_five_waiting_standard_contacts() -> None:
    pool = Pool()
    pool.busy("a1", "first")
    for n in range(5):
        assert not of_type(pool.contact(f"s{n}", Channel.VOICE, after=1), OfferMade)
    pool.contact("vip", Channel.VOICE, "vip", after=1)

    offer = only(of_type(pool.free("a1", "first", after=1), OfferMade))

    assert (offer.contact_id, offer.agent_id) == ("vip", "a1")
    assert offer.explanation.side == "agent"
    assert offer.explanation.reason.startswith("vip priority 101.0 beat standard priority")


def test_aged_standard_beats_fresh_vip_past_the_horizon() -> None:
    pool = Pool()  # vip weight 100, aging 1/s: horizon 100 s
    pool.busy("a1", "first")
    pool.contact("old", Channel.VOICE)
    pool.contact("vip", Channel.VOICE, "vip", after=101)

    offer = only(of_type(pool.free("a1", "first"), OfferMade))

    assert offer.contact_id == "old"
    assert "standard priority 101.0 beat vip priority 100.0" in offer.explanation.reason


def test_vip_still_first_inside_the_horizon() -> None:
    pool = Pool()
    pool.busy("a1", "first")
    pool.contact("old", Channel.VOICE)
    pool.contact("vip", Channel.VOICE, "vip", after=99)

    assert only(of_type(pool.free("a1", "first"), OfferMade)).contact_id == "vip"


def test_zero_aging_is_strict_priority() -> None:
    pool = Pool(PoolConfig(aging_per_second=0.0))
    pool.busy("a1", "first")
    pool.contact("old", Channel.VOICE)
    pool.contact("vip", Channel.VOICE, "vip", after=10_000)

    offer = only(of_type(pool.free("a1", "first"), OfferMade))

    assert offer.contact_id == "vip"
    assert offer.explanation.reason == "vip priority 100.0 beat standard priority 0.0"


def test_same_class_longest_waiting_first() -> None:
    pool = Pool(PoolConfig(aging_per_second=0.0))
    pool.busy("a1", "first")
    pool.contact("b", Channel.VOICE, after=1)
    pool.contact("a", Channel.VOICE, after=1)

    first = only(of_type(pool.free("a1", "first", after=1), OfferMade))
    pool.send(OfferAccepted(first.offer_id, "a1"))
    second = only(of_type(pool.free("a1", "b", after=1), OfferMade))

    assert (first.contact_id, second.contact_id) == ("b", "a")
    assert first.explanation.reason == "standard priority 0.0 tied standard priority 0.0; " + (
        "earlier arrival first"
    )


def test_ties_by_arrival_then_id() -> None:
    pool = Pool(PoolConfig(aging_per_second=0.0))
    pool.busy("a1", "first")
    pool.contact("y", Channel.VOICE, after=1)
    pool.contact("x", Channel.VOICE)  # same arrival as y, smaller id
    pool.contact("w", Channel.VOICE, after=1)

    offer = only(of_type(pool.free("a1", "first"), OfferMade))

    assert offer.contact_id == "x"
    assert "tied" in offer.explanation.reason


def test_unknown_class_is_routed_as_the_lowest_class() -> None:
    pool = Pool()
    pool.busy("a1", "first")
    queued = only(of_type(pool.contact("g", Channel.VOICE, "gold"), ContactQueued))
    pool.contact("s", Channel.VOICE, after=1)

    offer = only(of_type(pool.free("a1", "first"), OfferMade))

    assert queued.priority == 0.0 and queued.customer_class == "gold"
    assert offer.contact_id == "g"
    assert "unknown class 'gold' treated as standard" in offer.explanation.reason


def test_queued_priority_reports_priority_at_now() -> None:
    pool = Pool()
    pool.busy("a1", "first")
    queued = pool.contact("vip", Channel.VOICE, "vip")
    assert only(of_type(queued, ContactQueued)).priority == 100.0
