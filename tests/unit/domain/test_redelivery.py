"""Inputs delivered again, finished contacts, waits measured on the inputs' own times, and
offers worked off a backlog."""

from __future__ import annotations

import pytest

from streams.routing.domain import (
    AgentLoggedIn,
    AgentNotReady,
    AgentReady,
    Channel,
    ContactAbandoned,
    ContactArrived,
    ContactAssigned,
    ContactCompleted,
    ContactQueued,
    ContactReleased,
    EventIgnored,
    OfferAccepted,
    OfferExpired,
    OfferMade,
    PoolConfig,
    Router,
    Tick,
)

from .scenario import START, Pool, of_type, only


def arrival(contact_id: str) -> ContactArrived:
    return ContactArrived(contact_id, Channel.VOICE, "standard", {})


def test_an_input_applied_once_is_recognised_by_its_event_id() -> None:
    router = Router(PoolConfig(), "p")
    router.handle(AgentLoggedIn("a1", {}), START, input_id="e1")
    router.handle(AgentReady("a1"), START + 1, input_id="e2")
    router.handle(AgentNotReady("a1", "break"), START + 2, input_id="e3")
    router.take_dirty()
    router.take_memory()
    clock = router.clock
    # the ready again, re-forwarded at a new offset, must not make a1 ready a second time
    assert router.handle(AgentReady("a1"), START + 1, input_id="e2") == [
        EventIgnored("duplicate_input", "e2")
    ]
    assert router.agent_states()["not_ready"] == 1
    assert router.take_dirty() == ({}, {})
    assert router.take_memory() == ({}, {})
    assert router.clock == clock and not router.unsaved()


def test_a_finished_contact_stays_finished_whatever_the_event_id() -> None:
    pool = Pool()
    pool.busy("a1", "c1")
    pool.send(ContactCompleted("c1", "a1", "done"), after=30)
    # a gateway's retry of the arrival, with a fresh event id, after the contact ended
    assert pool.send(arrival("c1"), after=5) == [EventIgnored("contact_finished", "c1")]
    assert pool.router.queue_view() == ()
    assert pool.agent_record("a1").work == {}


def test_finished_contacts_and_input_ids_are_forgotten_after_their_horizons() -> None:
    config = PoolConfig(input_memory_seconds=60, finished_memory_seconds=600)
    router = Router(config, "p")
    router.handle(AgentLoggedIn("a1", {}), START, input_id="login")
    router.handle(arrival("c1"), START, input_id="arr")
    router.handle(arrival("c1"), START, input_id="arr-again")  # queued, not yet finished
    router.handle(ContactAbandoned("c1"), START + 10, input_id="gone")
    router.handle(Tick(), START + 65)
    assert "login" not in router._inputs and "gone" in router._inputs
    router.handle(Tick(), START + 700)
    assert "c1" not in router._finished
    assert of_type(router.handle(arrival("c1"), START + 701), ContactQueued)


def test_restored_router_remembers_inputs_and_finished_contacts() -> None:
    original = Router(PoolConfig(), "p")
    original.handle(AgentLoggedIn("a1", {}), START, input_id="login")
    original.handle(arrival("c1"), START, input_id="arr-c1")
    original.handle(ContactAbandoned("c1"), START + 3, input_id="gone-c1")
    contacts, agents = original.take_dirty()
    inputs, finished = original.take_memory()
    restored = Router.restore(
        PoolConfig(),
        "p",
        [r for r in contacts.values() if r is not None],
        [r for r in agents.values() if r is not None],
        original.clock,
        inputs=inputs.items(),
        finished=finished.items(),
    )
    assert restored.handle(arrival("c1"), START + 4, input_id="arr-c1") == [
        EventIgnored("duplicate_input", "arr-c1")
    ]
    assert restored.handle(arrival("c1"), START + 4, input_id="retry") == [
        EventIgnored("contact_finished", "c1")
    ]


def test_wait_and_handle_time_come_from_the_inputs_own_times() -> None:
    pool = Pool(PoolConfig(offer_timeout_seconds=30))
    pool.agent("a1")
    offer = only(of_type(pool.contact("c1", Channel.CHAT), OfferMade))
    # a clock tick got to routing before the accept, which happened 19.85 s after arrival
    pool.router.handle(Tick(), START + 20.165)
    accepted = pool.router.handle(OfferAccepted(offer.offer_id, "a1"), START + 19.85)
    assert only(of_type(accepted, ContactAssigned)).waited_seconds == pytest.approx(19.85)
    released = pool.router.handle(ContactCompleted("c1", "a1", "done"), START + 79.85)
    assert only(of_type(released, ContactReleased)).handle_seconds == pytest.approx(60.0)


def test_an_offer_made_from_a_backlog_gets_its_full_window_from_processing() -> None:
    router = Router(PoolConfig(offer_timeout_seconds=20), "p")
    late = START + 60  # the batch is processed a minute after these inputs happened
    router.handle(AgentLoggedIn("a1", {}), START, processed_at=late)
    router.handle(AgentReady("a1"), START, processed_at=late)
    offer = only(of_type(router.handle(arrival("c1"), START + 1, processed_at=late), OfferMade))
    assert offer.expires_at == late + 20
    # ticks of the backlog (their own times) must not expire it before the agent saw it
    assert not of_type(router.handle(Tick(), START + 25, processed_at=late), OfferExpired)
    assert of_type(router.handle(Tick(), late + 20), OfferExpired)
