"""The control plane through the routing processor over in-memory ports: a pool's policy is
stored with its state and survives a restart; a moved contact is admitted to the other pool
with its original arrival time, by a record whose id a replay reproduces."""

from __future__ import annotations

from schemas import contacts as ct
from schemas import control
from schemas.codec import decode
from schemas.routing import ContactMoved, ContactQueued, ContactRemoved
from schemas.topics import INTERACTIONS, ROUTING
from streams.routing import domain
from streams.routing.replay import RecordedBatch, compare, replay_partition
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

    # the caller hangs up: the gateway names the pool the call arrived in; it goes on to p2
    ended = ct.ContactEnded(pool_id=POOL, contact_id="c1", occurred_at=at(50), event_id="end-1")
    restarted, again = processor(store)
    await restarted.process(0, batch([ended], first_offset=2))
    [sent_on] = [o for o in again.sent if o.topic is ROUTING]
    assert sent_on.key == b"p2"
    forwarded = decode(sent_on.value)
    assert isinstance(forwarded, ct.ContactEnded) and forwarded.pool_id == "p2"
    await other.process(1, [rec(1, forwarded, key="p2", partition=1)])
    [removed] = [r for o in sent.sent if isinstance(r := decode(o.value), ContactRemoved)]
    assert removed.reason == "abandoned"


async def test_a_policy_change_replays_to_the_same_decisions() -> None:
    change = control.PoolPolicyChanged(
        pool_id=POOL,
        class_weights={"vip": 0.0, "standard": 100.0},
        aging_per_second=0.0,
        occurred_at=at(3),
        event_id="policy-2",
    )
    records = [
        *login("a1", 0),
        arrival("busy", 1),
        arrival("s1", 2, "standard"),
        change,
        arrival("v1", 4, "vip"),
    ]
    inputs = batch(records)
    routing, published = processor(MemoryRoutingStore())
    await routing.process(0, inputs[:4])
    await routing.process(0, inputs[4:])
    made = [decode(o.value) for o in published.sent if o.topic is INTERACTIONS]
    now = at(0).timestamp()
    batches = [RecordedBatch(-1, 3, now), RecordedBatch(3, 5, now)]
    config = domain.PoolConfig(offer_timeout_seconds=20.0)
    replayed = await replay_partition(config, "routing", 0, batches, inputs)
    assert replayed == made
    assert compare({r.event_id: r for r in made}, replayed, pool_id=POOL) == []
