from __future__ import annotations

from streams.routing.domain import Channel, OfferAccepted, OfferMade, PoolConfig

from .scenario import Pool, of_type, only


def test_chat_agent_takes_three_concurrent_chats() -> None:
    pool = Pool()
    pool.agent("a1")
    offers = [only(of_type(pool.contact(f"c{n}", after=1), OfferMade)) for n in range(3)]
    assert [o.agent_id for o in offers] == ["a1", "a1", "a1"]

    assert not of_type(pool.contact("c3", after=1), OfferMade)
    pool.send(OfferAccepted(offers[0].offer_id, "a1"))
    nxt = only(of_type(pool.free("a1", "c0", after=1), OfferMade))
    assert nxt.contact_id == "c3"


def test_capacity_override_at_login() -> None:
    pool = Pool()
    pool.agent("a1", capacity={Channel.CHAT: 1})
    assert of_type(pool.contact("c0"), OfferMade)
    assert not of_type(pool.contact("c1"), OfferMade)


def test_voice_is_one_at_a_time() -> None:
    pool = Pool()
    pool.agent("a1")
    assert of_type(pool.contact("v0", Channel.VOICE), OfferMade)
    assert not of_type(pool.contact("v1", Channel.VOICE), OfferMade)


def test_voice_work_blocks_other_channels() -> None:
    pool = Pool()
    pool.busy("a1", "v0", Channel.VOICE)
    assert not of_type(pool.contact("chat"), OfferMade)
    assert not of_type(pool.contact("mail", Channel.EMAIL), OfferMade)


def test_voice_only_goes_to_an_agent_without_any_work() -> None:
    pool = Pool()
    pool.busy("a1", "c0", Channel.CHAT)
    assert not of_type(pool.contact("v0", Channel.VOICE), OfferMade)
    pool.agent("a2")  # idle agent arrives: takes the waiting voice contact
    assert only(of_type(pool.log, OfferMade)[-1:]).agent_id == "a2"


def test_channels_without_exclusivity_mix() -> None:
    pool = Pool(PoolConfig(exclusive_channels=frozenset()))
    pool.busy("a1", "c0", Channel.CHAT)
    assert only(of_type(pool.contact("v0", Channel.VOICE), OfferMade)).agent_id == "a1"


def test_skills_and_minimum_proficiency() -> None:
    pool = Pool()
    pool.agent("junior", {"es": 3})
    pool.agent("senior", {"es": 8, "billing": 5})

    assert only(of_type(pool.contact("c1", skills={"es": 5}), OfferMade)).agent_id == "senior"
    assert not of_type(pool.contact("c2", skills={"fr": 1}), OfferMade)
    offer = only(of_type(pool.contact("c3", skills={"es": 2}), OfferMade))
    assert offer.agent_id == "junior"  # least load on chat
    assert offer.explanation.candidates[0].to_dict()["proficiency"] == {"es": 3}


def test_agent_gains_skills_on_relogin_and_takes_waiting_contact() -> None:
    pool = Pool()
    pool.agent("a1", {"es": 1})
    assert not of_type(pool.contact("c1", skills={"fr": 2}), OfferMade)
    out = pool.agent("a1", {"es": 1, "fr": 2}, ready=False)
    assert only(of_type(out, OfferMade)).contact_id == "c1"


def test_least_load_then_longest_idle_then_id() -> None:
    pool = Pool()
    pool.agent("b")
    pool.wait(5)
    pool.agent("a")
    pool.agent("c")  # same idle_since as a

    first = only(of_type(pool.contact("c1"), OfferMade))
    assert first.agent_id == "b"  # idle 5 s longer than a and c
    assert "idle 5.0s beat 0.0s" in first.explanation.reason
    second = only(of_type(pool.contact("c2"), OfferMade))
    assert second.agent_id == "a"  # b has load 1 now; a before c by id
    assert second.explanation.reason == "equal load and idle time; agent id before c"
    third = only(of_type(pool.contact("c3"), OfferMade))
    assert third.agent_id == "c"
    fourth = only(of_type(pool.contact("c4"), OfferMade))
    assert fourth.agent_id == "b"
    assert "least load" not in fourth.explanation.reason  # all have load 1: idle decides


def test_last_agent_preferred_inside_window() -> None:
    pool = Pool()
    pool.agent("a1")
    pool.wait(10)
    pool.agent("a2")
    offer = only(
        of_type(pool.contact("c1", last_agent_id="a2", last_agent_at=pool.now - 60), OfferMade)
    )
    assert offer.agent_id == "a2"
    assert offer.explanation.reason == "last agent within window"
    assert [c.to_dict()["last_agent"] for c in offer.explanation.candidates] == [True, False]


def test_last_agent_ignored_outside_window() -> None:
    pool = Pool(PoolConfig(last_agent_window_seconds=3600))
    pool.agent("a1")
    pool.wait(10)
    pool.agent("a2")
    offer = only(
        of_type(pool.contact("c1", last_agent_id="a2", last_agent_at=pool.now - 3601), OfferMade)
    )
    assert offer.agent_id == "a1"
    assert "last agent a2 outside window" in offer.explanation.reason


def test_busy_last_agent_does_not_hold_the_contact() -> None:
    pool = Pool()
    pool.busy("a2", "v0", Channel.VOICE)
    pool.agent("a1")
    offer = only(of_type(pool.contact("c1", last_agent_id="a2", last_agent_at=pool.now), OfferMade))
    assert offer.agent_id == "a1"
    assert "last agent a2 not available" in offer.explanation.reason
