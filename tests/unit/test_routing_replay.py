"""Replay over in-memory ports: the recorded batches with their processing times give the
decisions the processor made; another processing time shows as a difference."""

from __future__ import annotations

from schemas.codec import decode
from schemas.routing import AdvanceRoutingClock
from schemas.topics import INTERACTIONS
from streams.routing import domain
from streams.routing.replay import RecordedBatch, compare, replay_partition
from tests.support.routing_fakes import MemoryRoutingStore
from tests.support.routing_inputs import POOL, TOPIC, arrival, at, batch, login, processor

CONFIG = domain.PoolConfig(offer_timeout_seconds=20.0)


def tick(when: float, n: int) -> AdvanceRoutingClock:
    return AdvanceRoutingClock(partition=0, occurred_at=at(when), event_id=f"tick-{n}")


async def test_recorded_batches_replay_to_the_same_decisions() -> None:
    inputs = batch([*login("a1", 0), arrival("c1", 1), arrival("c2", 2), tick(5, 1), tick(55, 2)])
    times = iter([at(30).timestamp(), at(31).timestamp()])  # processed late: offers from then
    routing, published = processor(MemoryRoutingStore(), clock=lambda: next(times))
    await routing.process(0, inputs[:4])
    await routing.process(0, inputs[4:])
    made = [decode(o.value) for o in published.sent if o.topic is INTERACTIONS]
    recorded = {r.event_id: r for r in made}
    assert any(r.TYPE == "offer_expired" for r in made)  # the tick at 55 s: due at 30 + 20 s

    batches = [RecordedBatch(-1, 3, at(30).timestamp()), RecordedBatch(3, 5, at(31).timestamp())]
    replayed = await replay_partition(CONFIG, TOPIC, 0, batches, inputs)
    assert replayed == made
    assert compare(recorded, replayed, pool_id=POOL) == []

    on_time = [RecordedBatch(-1, 3, at(2).timestamp()), RecordedBatch(3, 5, at(31).timestamp())]
    differences = compare(
        recorded, await replay_partition(CONFIG, TOPIC, 0, on_time, inputs), pool_id=POOL
    )
    assert {d.event_id for d in differences} >= {"arr-c1:p1:1:offer_made"}
    assert "expires_at" in differences[0].describe()
