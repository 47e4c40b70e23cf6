"""The control plane as routing inputs: an admin's profile or policy change and a supervisor's
action act on the pool at once, change nothing when repeated, and survive a restore."""

from __future__ import annotations

from streams.routing.domain import (
    AgentLoggedIn,
    AgentNotReady,
    AgentProfileChanged,
    AgentReady,
    CallbackRequested,
    Channel,
    ContactAbandoned,
    ContactArrived,
    ContactCompleted,
    ContactInputForwarded,
    ContactMoved,
    ContactReleased,
    ContactRemoved,
    EndContact,
    EventIgnored,
    MoveContact,
    OfferAccepted,
    OfferContact,
    OfferExpired,
    OfferMade,
    OfferRescinded,
    PoolConfig,
    PoolPolicy,
    PoolPolicyChanged,
    Router,
    ServiceLevelTarget,
    Tick,
)

from .scenario import Pool, of_type, only


def restored(router: Router) -> Router:
    moved = router.moved_row()  # what a save would store (before the save clears it)
    contacts, agents = router.take_dirty()
    return Router.restore(
        PoolConfig(),
        router.pool_id,
        [row for row in contacts.values() if row is not None],
        [row for row in agents.values() if row is not None],
        router.clock,
        policy=router.policy_row(),
        moved=moved,
    )


def test_new_skills_reach_a_logged_in_agent_who_then_gets_the_waiting_contact() -> None:
    pool = Pool()
    pool.agent("a1", {"billing": 5})
    assert not of_type(pool.contact("c1", skills={"fr": 3}), OfferMade)
    out = pool.send(AgentProfileChanged("a1", {"billing": 5, "fr": 4}, {}), after=1)
    assert only(of_type(out, OfferMade)).contact_id == "c1"
    again = pool.send(AgentProfileChanged("a1", {"billing": 5, "fr": 4}, {}))
    assert again == [EventIgnored("profile_unchanged", "a1")]


def test_a_lower_capacity_stops_offers_beyond_it() -> None:
    pool = Pool()
    pool.agent("a1")
    pool.send(AgentProfileChanged("a1", {}, {Channel.CHAT: 1}))
    assert of_type(pool.contact("c1"), OfferMade)
    assert not of_type(pool.contact("c2"), OfferMade)


def test_class_weights_from_a_policy_change_order_the_next_decision() -> None:
    pool = Pool(PoolConfig(aging_per_second=0.0))
    pool.agent("a1", capacity={Channel.CHAT: 1})
    pool.contact("busy")
    pool.send(OfferAccepted("busy:1", "a1"))
    pool.contact("s1", customer_class="standard", after=1)
    pool.contact("v1", customer_class="vip", after=1)
    policy = PoolPolicy(
        class_weights={"vip": 0.0, "standard": 100.0},
        service_levels=(ServiceLevelTarget("vip", 30.0, 0.9),),
    )
    pool.send(PoolPolicyChanged(policy), after=1)
    assert pool.router.config.class_weights == {"standard": 100.0, "vip": 0.0}
    router = restored(pool.router)  # the policy is stored with the pool
    assert router.policy == policy
    out = router.handle(ContactCompleted("busy", "a1"), pool.now + 1)
    assert only(of_type(out, OfferMade)).contact_id == "s1"
    assert router.handle(PoolPolicyChanged(policy), pool.now + 2) == [
        EventIgnored("policy_unchanged", "pool-1")
    ]


def test_forcing_not_ready_withdraws_the_offer_and_stops_new_ones() -> None:
    pool = Pool()
    pool.agent("a1")
    pool.agent("a2")
    offer = only(of_type(pool.contact("c1"), OfferMade))
    out = pool.send(AgentNotReady(offer.agent_id, "supervisor: coaching"), after=1)
    assert only(of_type(out, OfferRescinded)).agent_id == offer.agent_id
    assert only(of_type(out, OfferMade)).agent_id != offer.agent_id


def test_a_moved_contact_leaves_with_its_arrival_and_offer_count() -> None:
    pool = Pool()
    pool.agent("a1", {"x": 1})
    pool.contact("c1", skills={"fr": 2})
    arrived = pool.now
    out = pool.send(MoveContact("c1", "pool-2", "french line"), after=30)
    moved = only(of_type(out, ContactMoved))
    assert (moved.to_pool_id, moved.arrived_at, moved.skills) == ("pool-2", arrived, (("fr", 2),))
    assert pool.send(MoveContact("c1", "pool-2")) == [EventIgnored("unknown_contact", "c1")]
    other = Router(PoolConfig(), "pool-2")
    other.handle(AgentLoggedIn("b1", {"fr": 5}), pool.now)
    other.handle(AgentReady("b1"), pool.now)
    arrival = ContactArrived(
        "c1", Channel.CHAT, "standard", {"fr": 2}, arrived_at=arrived, attempts=moved.attempts
    )
    offer = only(of_type(other.handle(arrival, pool.now), OfferMade))
    assert offer.offer_id == "c1:1"


def test_the_customers_side_of_a_moved_contact_goes_on_to_its_new_pool() -> None:
    pool = Pool()
    pool.contact("c1", Channel.VOICE)
    pool.send(MoveContact("c1", "pool-2", "specialists"))
    router = restored(pool.router)  # where it went is stored with the pool
    for event in (CallbackRequested("c1"), ContactAbandoned("c1")):
        out = router.handle(event, pool.now + 1)
        assert out == [ContactInputForwarded("c1", "pool-2", event.KIND)]
    back = ContactArrived("c1", Channel.VOICE, "standard", {}, arrived_at=pool.now)
    router.handle(back, pool.now + 2)  # moved back: its inputs are this pool's again
    assert not of_type(router.handle(ContactAbandoned("c1"), pool.now + 3), ContactInputForwarded)


def test_offer_to_a_named_agent_and_back_to_its_place_on_expiry() -> None:
    pool = Pool()
    pool.agent("a1", {"x": 1})
    pool.agent("a2", {"x": 1, "y": 1})
    pool.agent("a3", {"x": 1})
    pool.send(AgentNotReady("a1", "lunch"))
    pool.send(AgentNotReady("a3", "lunch"))
    pool.send(AgentNotReady("a2", "lunch"))
    pool.contact("c1", skills={"y": 1})
    assert pool.send(OfferContact("c1", "a1", "vip")) == [EventIgnored("agent_not_ready", "a1")]
    pool.send(AgentReady("a1"))
    out = pool.send(OfferContact("c1", "a1", "knows the customer"), after=1)
    offer = only(of_type(out, OfferMade))
    assert offer.agent_id == "a1" and offer.explanation.trigger == "supervisor"
    expired = pool.send(Tick(), after=30)
    assert only(of_type(expired, OfferExpired)).contact_id == "c1"
    assert pool.router._contacts["c1"].arrived_at == offer.expires_at - 20 - 1


def test_end_a_stuck_contact_in_any_state() -> None:
    pool = Pool()
    pool.agent("a1", capacity={Channel.CHAT: 1})
    offer = only(of_type(pool.contact("held"), OfferMade))
    pool.send(OfferAccepted(offer.offer_id, "a1"))
    pool.contact("waiting", after=1)
    out = pool.send(EndContact("waiting", "duplicate"))
    assert only(of_type(out, ContactRemoved)).reason == "ended_by_supervisor"
    out = pool.send(EndContact("held", "customer gone"), after=5)
    released = only(of_type(out, ContactReleased))
    assert (released.agent_id, released.disposition) == ("a1", "ended_by_supervisor")
    assert pool.send(EndContact("held")) == [EventIgnored("contact_finished", "held")]
