"""A contact no logged-in agent could take is said so at once, with what nobody meets, and
stops being unservable the moment an eligible agent logs in."""

from __future__ import annotations

from streams.routing.domain import (
    AgentLoggedIn,
    AgentLoggedOut,
    Channel,
    ContactAbandoned,
    ContactBecameServable,
    ContactMarkedUnservable,
    OfferMade,
    PoolConfig,
    Router,
)

from .scenario import Pool, kinds, of_type, only


def test_a_french_chat_with_only_an_english_agent_is_unservable_at_arrival() -> None:
    pool = Pool()
    pool.agent("en-1", {"lang_en": 5})
    out = pool.contact("fr-chat", Channel.CHAT, skills={"lang_fr": 1})
    assert kinds(out) == ["contact_queued", "contact_unservable"]
    flagged = only(of_type(out, ContactMarkedUnservable))
    assert (flagged.contact_id, flagged.channel, flagged.requirement) == (
        "fr-chat",
        "chat",
        "lang_fr>=1",
    )
    assert flagged.reason == "nobody logged in has lang_fr>=1 (best: no lang_fr)"
    assert pool.router.unservable_view() == {("chat", "lang_fr>=1"): 1}


def test_it_becomes_servable_and_is_offered_when_an_eligible_agent_logs_in() -> None:
    pool = Pool()
    pool.agent("en-1", {"lang_en": 5})
    pool.contact("fr-chat", Channel.CHAT, skills={"lang_fr": 1})
    logged_in = pool.send(AgentLoggedIn("fr-1", {"lang_fr": 3}), after=5)
    servable = only(of_type(logged_in, ContactBecameServable))
    assert (servable.contact_id, servable.reason) == ("fr-chat", "agent fr-1 can take it")
    assert pool.router.unservable_view() == {}
    assert pool.contact_record("fr-chat").unservable is None
    offer = only(of_type(pool.agent("fr-1", {"lang_fr": 3}, ready=True)[1:], OfferMade))
    assert offer.contact_id == "fr-chat"


def test_the_last_eligible_agent_logging_out_marks_the_waiting_contacts() -> None:
    pool = Pool()
    pool.agent("fr-1", {"lang_fr": 3}, ready=False)
    assert of_type(pool.contact("fr-1c", Channel.CHAT, skills={"lang_fr": 1}), OfferMade) == []
    pool.contact("fr-2c", Channel.CHAT, skills={"lang_fr": 1})
    out = pool.send(AgentLoggedOut("fr-1"), after=1)
    assert [d.contact_id for d in of_type(out, ContactMarkedUnservable)] == ["fr-1c", "fr-2c"]
    # nobody is logged in at all: the first requirement nobody meets is the channel
    assert pool.router.unservable_view() == {("chat", "channel:chat"): 2}
    pool.send(ContactAbandoned("fr-1c"), after=1)
    assert pool.router.unservable_view() == {("chat", "channel:chat"): 1}


def test_proficiency_and_channel_are_requirements_too() -> None:
    pool = Pool()
    pool.agent("a1", {"billing": 2}, capacity={Channel.VOICE: 0})
    low = only(
        of_type(pool.contact("c1", Channel.CHAT, skills={"billing": 4}), ContactMarkedUnservable)
    )
    assert (low.requirement, low.reason) == (
        "billing>=4",
        "nobody logged in has billing>=4 (best: billing 2)",
    )
    call = only(of_type(pool.contact("c2", Channel.VOICE), ContactMarkedUnservable))
    assert (call.requirement, call.reason) == ("channel:voice", "no logged-in agent takes voice")


def test_requirements_met_apart_but_never_together() -> None:
    pool = Pool()
    pool.agent("a1", {"lang_fr": 2})
    pool.agent("a2", {"billing": 2})
    both = only(
        of_type(
            pool.contact("c1", Channel.CHAT, skills={"lang_fr": 1, "billing": 1}),
            ContactMarkedUnservable,
        )
    )
    assert both.requirement == "billing>=1+lang_fr>=1"
    assert both.reason == "no logged-in agent on chat has billing>=1, lang_fr>=1 together"


def test_a_not_ready_agent_keeps_a_contact_servable() -> None:
    """Could *ever* take it: logged in is enough, readiness and load are not asked."""
    pool = Pool()
    pool.agent("fr-1", {"lang_fr": 3}, ready=False)
    out = pool.contact("fr-chat", Channel.CHAT, skills={"lang_fr": 1})
    assert kinds(out) == ["contact_queued"]


def test_the_flag_survives_a_restore_and_clears_the_same_way() -> None:
    pool = Pool()
    pool.agent("en-1", {"lang_en": 5})
    pool.contact("fr-chat", Channel.CHAT, skills={"lang_fr": 1})
    contacts, agents = pool.router.take_dirty()
    restored = Router.restore(
        PoolConfig(),
        "pool-1",
        [r for r in contacts.values() if r is not None],
        [r for r in agents.values() if r is not None],
        pool.router.clock,
    )
    assert restored.unservable_view() == {("chat", "lang_fr>=1"): 1}
    out = restored.handle(AgentLoggedIn("fr-1", {"lang_fr": 1}), pool.now + 1)
    assert [d.kind for d in out] == ["agent_state_changed", "contact_servable"]
