"""The control plane through the routing processor over in-memory ports: a pool's policy is
stored with its state and survives a restart; a moved contact is admitted to the other pool
with its original arrival time, by a record whose id a replay reproduces."""

from __future__ import annotations

from schemas import control
from schemas.codec import decode
from schemas.routing import ContactMoved, ContactQueued
from schemas.topics import INTERACTIONS, ROUTING
from tests.support.routing_fakes import MemoryRoutingStore
from tests.support.routing_inputs import POOL, arrival, at, batch, login, processor, rec


async def test_a_policy_change_is_stored_with_the_pool_and_restored() -> None:
    store = MemoryRoutingStore()
    proc, _ = processor(store)
    change = control.PoolPolicyChanged(
        pool_id=POOL,
        class_weights={"vip": 0.0, "standard": 100.0},
        aging_per_second=0.0,
        occurred_at=at(1),
        event_id="policy-1",
    )
    await proc.process(0, batch([*login("a1", 0), change]))
    stored = store.tables.policies[POOL]
    assert stored["class_weights"] == {"standard": 100.0, "vip": 0.0}
    restarted, _ = processor(store)
    await restarted.process(0, batch([arrival("c1", 2)], first_offset=3))
    router = restarted.routers(0)[POOL]
    assert router.config.class_weights == {"standard": 100.0, "vip": 0.0}
    assert router.config.aging_per_second == 0.0


async def test_a_moved_contact_is_admitted_to_the_other_pool_keeping_its_arrival() -> None:
    store = MemoryRoutingStore()
    proc, publisher = processor(store)
    move = control.MoveContact(
        pool_id=POOL,
        contact_id="c1",
        to_pool_id="p2",
        reason="french",
        occurred_at=at(40),
        event_id="move-1",
    )
    await proc.process(0, batch([arrival("c1", 1), move]))
    [moved] = [r for o in publisher.sent if isinstance(r := decode(o.value), ContactMoved)]
    assert moved.arrived_at == at(1)
    [admitted] = [o for o in publisher.sent if o.topic is ROUTING]
    assert admitted.key == b"p2"
    admit = decode(admitted.value)
    assert isinstance(admit, control.AdmitContact) and admit.arrived_at == at(1)
    assert admit.event_id == f"move-1:{POOL}:0:admit_contact"

    other, sent = processor(MemoryRoutingStore())
    await other.process(1, [rec(0, admit, key="p2", partition=1)])
    [queued] = [
        r
        for o in sent.sent
        if o.topic is INTERACTIONS and isinstance(r := decode(o.value), ContactQueued)
    ]
    assert (queued.pool_id, queued.arrived_at) == ("p2", at(1))
