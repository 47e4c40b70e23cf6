"""The routing processor over in-memory ports: replay, fencing, dead letters, determinism."""

from __future__ import annotations

import json

import pytest

from schemas.codec import decode
from schemas.routing import AdvanceRoutingClock, DeadLettered, OfferExpired
from schemas.topics import DEAD_LETTER, INTERACTIONS, OFFERS
from streams.routing.ports import InputRecord
from tests.support.routing_fakes import MemoryPublisher, MemoryRoutingStore
from tests.support.routing_inputs import (
    POOL,
    TOPIC,
    arrival,
    at,
    batch,
    login,
    offers,
    processor,
)


async def test_offer_goes_to_interactions_and_to_the_agents_offers() -> None:
    proc, publisher = processor(MemoryRoutingStore())
    await proc.process(0, batch([*login("a1", 0), arrival("c1", 1)]))
    (offer,) = offers(publisher.sent)
    assert (offer.contact_id, offer.agent_id, offer.offer_id) == ("c1", "a1", "c1:1")
    assert offer.cause_event_id == "arr-c1"
    keys = {(o.topic.name, o.key) for o in publisher.sent if decode(o.value).TYPE == "offer_made"}
    assert keys == {(INTERACTIONS.name, b"c1"), (OFFERS.name, b"a1")}


async def test_inputs_already_stored_are_skipped_on_replay() -> None:
    store = MemoryRoutingStore()
    proc, publisher = processor(store)
    inputs = batch([*login("a1", 0), arrival("c1", 1)])
    await proc.process(0, inputs)
    sent = len(publisher.sent)
    restarted, again = processor(store)  # a new process after a restart
    assert await restarted.process(0, inputs) == []
    assert again.sent == [] and len(publisher.sent) == sent
    assert store.tables.offsets[(TOPIC, 0)] == 2


async def test_a_failed_commit_replays_to_identical_outputs() -> None:
    store = MemoryRoutingStore()
    publisher = MemoryPublisher()
    proc, _ = processor(store, publisher)
    inputs = batch([*login("a1", 0), arrival("c1", 1), arrival("c2", 2, "vip")])
    publisher.fail_next = 1
    with pytest.raises(ConnectionError):
        await proc.process(0, inputs)
    assert store.tables.offsets == {}  # nothing stored
    first = await proc.process(0, inputs)
    replica, _ = processor(MemoryRoutingStore())
    second = await replica.process(0, inputs)
    assert [o.value for o in first] == [o.value for o in second]


async def test_a_stale_owner_reloads_what_the_new_owner_stored() -> None:
    store = MemoryRoutingStore()
    old_owner, _ = processor(store)
    await old_owner.process(0, batch(login("a1", 0)))
    new_owner, new_sent = processor(store)  # took the partition over during a rebalance
    await new_owner.process(0, batch([arrival("c1", 1)], first_offset=2))
    assert [o.contact_id for o in offers(new_sent.sent)] == ["c1"]
    # the old owner still had a batch in flight: offset 2 is stored, only offset 3 is new
    late = batch([arrival("c1", 1), arrival("c2", 2)], first_offset=2)
    out = await old_owner.process(0, late)
    assert offers(out) == []  # a1 is busy with c1: the old owner reloaded and knows it
    rows = store.tables.contacts[POOL]
    assert {cid: row["status"] for cid, row in rows.items()} == {"c1": "offered", "c2": "waiting"}


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        (b"p1", b"{not json", "not JSON"),
        (
            b"p1",
            json.dumps({"type": "contact_arrived", "schema_version": 3}).encode(),
            "unsupported schema_version 3",
        ),
        (b"other-pool", arrival("c1", 1).to_bytes(), "does not match its pool_id"),
        (
            b"p1",
            json.dumps(
                {"type": "agent_logged_in", "pool_id": "p1", "agent_id": "a", "skills": {"x": 0}}
            ).encode(),
            "level 0",
        ),
    ],
)
async def test_bad_inputs_are_dead_lettered_with_reason_and_bytes(
    key: bytes, value: bytes, reason: str
) -> None:
    store = MemoryRoutingStore()
    proc, publisher = processor(store)
    await proc.process(0, [InputRecord(0, 0, key, value), *batch(login("a1", 0), 1)])
    (letter,) = [o for o in publisher.sent if o.topic is DEAD_LETTER]
    record = decode(letter.value)
    assert isinstance(record, DeadLettered)
    assert reason in record.reason
    assert (record.source_topic, record.source_offset) == (TOPIC, 0)
    # and routing went on: the agent after the bad record was stored, with the offsets
    assert list(store.tables.agents[POOL]) == ["a1"]
    assert store.tables.offsets[(TOPIC, 0)] == 2


async def test_clock_ticks_expire_offers_of_every_pool_of_the_partition() -> None:
    store = MemoryRoutingStore()
    proc, publisher = processor(store)
    await proc.process(0, batch([*login("a1", 0), arrival("c1", 1)]))
    tick = AdvanceRoutingClock(partition=0, occurred_at=at(30), event_id="tick-1")
    await proc.process(0, [InputRecord(0, 3, None, tick.to_bytes())])
    expired = [r for o in publisher.sent if isinstance(r := decode(o.value), OfferExpired)]
    assert [e.offer_id for e in expired] == ["c1:1", "c1:1"]  # interactions and offers
    assert store.tables.pools[POOL][2] == at(30).timestamp()
