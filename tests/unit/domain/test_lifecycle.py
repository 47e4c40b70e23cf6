from __future__ import annotations

import json

from streams.routing.domain import (
    AgentLoggedIn,
    AgentReady,
    CallbackRequested,
    Channel,
    ContactAbandoned,
    ContactArrived,
    ContactCompleted,
    ContactEnded,
    ContactReleased,
    ContactRemoved,
    ContactStatus,
    EventIgnored,
    OfferAccepted,
    OfferMade,
    OfferRescinded,
    QueueStat,
    Tick,
)

from .scenario import Pool, kinds, of_type, only


def test_abandon_while_waiting() -> None:
    pool = Pool()
    pool.busy("a1", "v0")
    pool.contact("c1", Channel.VOICE)
    out = pool.send(ContactAbandoned("c1"), after=42)
    assert out == [ContactRemoved("c1", "abandoned", 42.0)]
    assert pool.router.queue_view() == ()
    assert not of_type(pool.free("a1", "v0"), OfferMade)


def test_ended_while_waiting_is_abandonment() -> None:
    pool = Pool()
    pool.contact("c1", Channel.SMS)
    assert pool.send(ContactEnded("c1"), after=3) == [ContactRemoved("c1", "abandoned", 3.0)]


def test_abandon_while_offered_frees_the_agent_for_the_next_contact() -> None:
    pool = Pool()
    pool.agent("a1")
    offer = only(of_type(pool.contact("c1", Channel.VOICE), OfferMade))
    pool.contact("c2", Channel.VOICE, after=1)

    out = pool.send(ContactAbandoned("c1"), after=1)

    assert kinds(out) == ["offer_rescinded", "contact_removed", "offer_made"]
    assert only(of_type(out, OfferRescinded)) == OfferRescinded(
        offer.offer_id, "c1", "a1", "abandoned"
    )
    assert only(of_type(out, OfferMade)).contact_id == "c2"
    assert pool.send(OfferAccepted(offer.offer_id, "a1")) == [
        EventIgnored("unknown_offer", offer.offer_id)
    ]


def test_wrap_up_holds_the_slot_until_completed() -> None:
    pool = Pool()
    pool.busy("a1", "v0")
    assert pool.send(ContactEnded("v0"), after=60) == []
    assert pool.contact_record("v0").status is ContactStatus.WRAP_UP
    assert not of_type(pool.contact("v1", Channel.VOICE), OfferMade)
    assert pool.send(ContactEnded("v0")) == [EventIgnored("already_ended", "v0")]

    out = pool.send(ContactCompleted("v0", "a1", "sold"), after=30)

    assert out[0] == ContactReleased("v0", "a1", "sold", 90.0)
    assert only(of_type(out, OfferMade)).contact_id == "v1"


def test_completed_before_customer_ends_releases_too() -> None:
    pool = Pool()
    pool.busy("a1", "c0", Channel.EMAIL)
    out = pool.send(ContactCompleted("c0", "a1", "answered"), after=5)
    assert kinds(out) == ["contact_released"]
    assert pool.send(ContactEnded("c0")) == [EventIgnored("contact_finished", "c0")]


def test_complete_by_other_agent_or_unassigned_is_ignored() -> None:
    pool = Pool()
    pool.busy("a1", "c0")
    pool.contact("c1", Channel.VOICE)
    assert pool.send(ContactCompleted("c0", "a2")) == [EventIgnored("agent_mismatch", "c0")]
    assert pool.send(ContactCompleted("c1", "a1")) == [EventIgnored("not_assigned", "c1")]


def test_callback_keeps_place_and_survives_hang_up() -> None:
    pool = Pool()
    pool.busy("a1", "v0")
    pool.contact("cb", Channel.VOICE, after=1)
    pool.contact("later", Channel.VOICE, after=1)

    assert pool.send(CallbackRequested("cb")) == []
    assert pool.send(ContactEnded("cb"), after=1) == [EventIgnored("callback_pending", "cb")]
    assert pool.send(ContactAbandoned("cb")) == [EventIgnored("callback_pending", "cb")]
    assert pool.send(CallbackRequested("cb")) == [EventIgnored("callback_already_requested", "cb")]

    offer = only(of_type(pool.free("a1", "v0", after=10), OfferMade))
    assert (offer.contact_id, offer.callback) == ("cb", True)
    pool.send(OfferAccepted(offer.offer_id, "a1"))
    assert pool.send(ContactEnded("cb")) == []  # the call back ended: wrap-up
    assert pool.contact_record("cb").status is ContactStatus.WRAP_UP


def test_callback_only_on_waiting_voice() -> None:
    pool = Pool()
    pool.contact("chat")
    assert pool.send(CallbackRequested("chat")) == [EventIgnored("not_voice", "chat")]
    assert pool.send(CallbackRequested("nobody")) == [EventIgnored("unknown_contact", "nobody")]


def test_callback_re_entry_keeps_original_arrival() -> None:
    pool = Pool()
    pool.busy("a1", "v0")
    pool.contact("new", Channel.VOICE, after=1)
    event = ContactArrived("cb", Channel.VOICE, "standard", {}, arrived_at=pool.now - 500)
    pool.send(event)
    assert only(of_type(pool.free("a1", "v0"), OfferMade)).contact_id == "cb"


def test_duplicates_and_unknowns_change_nothing() -> None:
    pool = Pool()
    pool.agent("a1", {"en": 3})
    pool.contact("c1")
    pool.router.take_dirty()

    assert pool.send(ContactArrived("c1", Channel.CHAT, "vip", {})) == [
        EventIgnored("duplicate_contact", "c1")
    ]
    assert pool.send(AgentReady("a1")) == [EventIgnored("already_ready", "a1")]
    assert pool.send(AgentLoggedIn("a1", {"en": 3})) == [EventIgnored("already_logged_in", "a1")]
    assert pool.send(AgentReady("ghost")) == [EventIgnored("unknown_agent", "ghost")]
    assert pool.send(ContactAbandoned("ghost")) == [EventIgnored("unknown_contact", "ghost")]
    assert pool.send(Tick()) == [EventIgnored("stale_tick", "pool-1")]
    assert pool.router.handle(Tick(), pool.now - 100) == [EventIgnored("stale_tick", "pool-1")]

    assert pool.router.take_dirty() == ({}, {})


def test_tick_advancing_with_nothing_due_is_silent() -> None:
    pool = Pool()
    assert pool.tick(after=1) == []
    assert pool.router.clock == pool.now


def test_router_clock_never_goes_back() -> None:
    pool = Pool()
    pool.agent("a1")
    out = pool.router.handle(ContactArrived("c1", Channel.CHAT, "standard", {}), pool.now - 50)
    offer = only(of_type(out, OfferMade))
    assert offer.expires_at == pool.now + 20


def test_agent_side_explanation_lists_queue_tops() -> None:
    pool = Pool()
    pool.busy("a1", "v0", Channel.VOICE)
    pool.agent("a1", {"es": 5}, ready=False)  # profile update keeps the work
    pool.contact("chat-std", Channel.CHAT, after=1)
    pool.contact("mail-vip", Channel.EMAIL, "vip", after=2)
    pool.contact("es-std", Channel.CHAT, skills={"es": 2}, after=3)
    pool.contact("chat-std-2", Channel.CHAT, after=4)

    offer = of_type(pool.free("a1", "v0", after=10), OfferMade)[0]

    why = offer.explanation
    assert (why.trigger, why.side, why.winner) == ("agent_available", "agent", "mail-vip")
    body = why.to_dict()
    assert [c["contact_id"] for c in body["candidates"]] == [
        "mail-vip",
        "chat-std",
        "es-std",
        "chat-std-2",
    ]
    assert body["candidates"][0] == {
        "contact_id": "mail-vip",
        "customer_class": "vip",
        "waited_seconds": 17.0,
        "priority": 117.0,
        "declined": False,
    }
    assert why.reason == "vip priority 117.0 beat standard priority 19.0"
    json.dumps(offer.to_dict())


def test_contact_side_explanation_lists_agents() -> None:
    pool = Pool()
    pool.agent("a1", {"en": 4})
    pool.wait(30)
    pool.agent("a2", {"en": 9})
    pool.wait(10)

    offer = only(of_type(pool.contact("c1", skills={"en": 2}), OfferMade))

    body = offer.to_dict()["explanation"]
    assert body["trigger"] == "contact_arrived" and body["side"] == "contact"
    assert body["winner"] == "a1"
    assert body["candidates"] == [
        {
            "agent_id": "a1",
            "load": 0,
            "idle_seconds": 40.0,
            "proficiency": {"en": 4},
            "declined": False,
            "last_agent": False,
        },
        {
            "agent_id": "a2",
            "load": 0,
            "idle_seconds": 10.0,
            "proficiency": {"en": 9},
            "declined": False,
            "last_agent": False,
        },
    ]
    assert body["reason"] == "equal load 0; idle 40.0s beat 10.0s (a2)"


def test_queue_view_and_agent_states() -> None:
    pool = Pool()
    pool.agent("a1", ready=False)
    pool.contact("v1", Channel.VOICE, "vip")
    pool.contact("v2", Channel.VOICE, after=5)
    pool.contact("v3", Channel.VOICE, after=5)
    pool.contact("e1", Channel.EMAIL, "gold", after=5)
    pool.wait(5)
    pool.tick()

    assert pool.router.queue_view() == (
        QueueStat(Channel.EMAIL, "standard", 1, 5.0),
        QueueStat(Channel.VOICE, "standard", 2, 15.0),
        QueueStat(Channel.VOICE, "vip", 1, 20.0),
    )
    assert pool.router.agent_states() == {"logged_out": 0, "not_ready": 1, "ready": 0}
