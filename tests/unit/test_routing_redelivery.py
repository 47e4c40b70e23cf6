"""The routing processor under redelivery and failed commits: inputs recognised by event id,
output ids unique to their content, replays byte-identical, offers timed from processing."""

from __future__ import annotations

from collections import Counter

import pytest

from schemas import agents as ag
from schemas import contacts as ct
from schemas.codec import decode
from schemas.routing import (
    AdvanceRoutingClock,
    ContactAssigned,
    ContactQueued,
    OfferMade,
    RoutingInputIgnored,
)
from schemas.topics import INTERACTIONS
from streams.routing.ports import BatchClaimLost, InputRecord, Outbound
from tests.support.routing_fakes import MemoryPublisher, MemoryRoutingStore
from tests.support.routing_inputs import (
    POOL,
    T0,
    arrival,
    at,
    batch,
    login,
    offers,
    processor,
    rec,
)


def accepted(offer_id: str, agent: str, when: float) -> ag.OfferAccepted:
    return ag.OfferAccepted(
        pool_id=POOL,
        offer_id=offer_id,
        agent_id=agent,
        occurred_at=at(when),
        event_id=f"acc-{offer_id}",
    )


def completed(contact: str, agent: str, when: float) -> ag.ContactCompleted:
    return ag.ContactCompleted(
        pool_id=POOL,
        contact_id=contact,
        agent_id=agent,
        disposition="done",
        occurred_at=at(when),
        event_id=f"done-{contact}",
    )


def tick(when: float, offset: int) -> InputRecord:
    command = AdvanceRoutingClock(partition=0, occurred_at=at(when), event_id=f"tick-{when}")
    return InputRecord(0, offset, None, command.to_bytes())


def ids_and_contents(sent: list[Outbound]) -> dict[str, set[bytes]]:
    found: dict[str, set[bytes]] = {}
    for item in sent:
        if item.topic is INTERACTIONS:
            found.setdefault(decode(item.value).event_id, set()).add(item.value)
    return found


async def test_a_finished_contact_redelivered_at_a_new_offset_is_not_reopened() -> None:
    store = MemoryRoutingStore()
    proc, publisher = processor(store)
    first = [*login("a1", 0), arrival("c1", 1), accepted("c1:1", "a1", 2), completed("c1", "a1", 9)]
    await proc.process(0, batch(first))
    sent = len(publisher.sent)
    # partition-by-pool re-forwards the same inputs after a crash: new offsets, same event ids
    await proc.process(0, batch(first, first_offset=5))
    assert publisher.sent[sent:] == []
    assert store.tables.contacts[POOL] == {}
    assert store.tables.offsets[("routing", 0)] == 9


async def test_an_arrival_sent_again_with_a_new_event_id_is_ignored_once_finished() -> None:
    store = MemoryRoutingStore()
    proc, publisher = processor(store)
    await proc.process(0, batch([*login("a1", 0), arrival("c1", 1), accepted("c1:1", "a1", 2)]))
    await proc.process(0, batch([completed("c1", "a1", 9)], first_offset=4))
    retry = ct.ContactArrived(
        pool_id=POOL,
        contact_id="c1",
        channel=ct.Channel.VOICE,
        customer_class="standard",
        occurred_at=at(10),
        event_id="arr-c1-retry",
    )
    out = await proc.process(0, batch([retry], first_offset=5))
    (ignored,) = [decode(o.value) for o in out]
    assert isinstance(ignored, RoutingInputIgnored)
    assert (ignored.reason, ignored.subject_id) == ("contact_finished", "c1")
    assert out[0].key == b"c1"  # the subject's partition, next to the contact's other events
    assert offers(publisher.sent)[-1].offer_id == "c1:1"  # never offered again


async def test_no_two_different_outputs_share_an_event_id() -> None:
    proc, publisher = processor(MemoryRoutingStore())
    inputs = [*login("a1", 0), arrival("c1", 1), accepted("c1:1", "a1", 2)]
    await proc.process(0, batch(inputs))
    # the same accept again with another id: ignored, and its id is not the real output's
    again = accepted("c1:1", "a1", 3).model_copy(update={"event_id": "acc-again"})
    await proc.process(0, batch([again], first_offset=4))
    contents = ids_and_contents(publisher.sent)
    assert all(len(values) == 1 for values in contents.values())
    assert any(i.startswith("acc-again:") and i.endswith("routing_input_ignored") for i in contents)


async def test_a_clock_moved_by_a_tick_is_stored_so_a_failed_commit_replays_identically() -> None:
    store = MemoryRoutingStore()
    publisher = MemoryPublisher()
    proc, _ = processor(store, publisher)
    await proc.process(0, batch([*login("a1", 0), arrival("c1", 1)]))
    await proc.process(0, [tick(10, 3)])  # nothing expires, but the pool clock moves to 10
    late = batch([arrival("c2", 5), accepted("c1:1", "a1", 6)], first_offset=4)
    store.fail_next_commit = 1
    with pytest.raises(ConnectionError):
        await proc.process(0, late)
    published_before_the_failed_commit = list(publisher.sent)
    retried = await proc.process(0, late)
    assert [o.value for o in published_before_the_failed_commit[-len(retried) :]] == [
        o.value for o in retried
    ]
    (queued,) = [r for o in retried if isinstance(r := decode(o.value), ContactQueued)]
    assert queued.priority == 5.0  # 5 s of aging at the pool's clock of 10
    (assigned,) = [
        r
        for o in retried
        if o.topic is INTERACTIONS and isinstance(r := decode(o.value), ContactAssigned)
    ]
    # answered when the agent accepted, not when a tick had moved the pool's clock to
    assert assigned.occurred_at == at(6)
    assert assigned.waited_seconds == 5.0


async def test_a_replay_after_a_crash_reuses_the_claimed_processing_time() -> None:
    store = MemoryRoutingStore()
    inputs = batch([*login("a1", 0), arrival("c1", 1)])
    clock = [T0.timestamp() + 60]  # processed a minute late
    crashed, first = processor(store, clock=lambda: clock[0])
    store_before = store.tables
    await crashed.process(0, inputs)
    store.tables = store_before  # the commit never happened (crash after publish)
    clock[0] += 30
    restarted, second = processor(store, clock=lambda: clock[0])
    await restarted.process(0, inputs)
    assert [o.value for o in first.sent] == [o.value for o in second.sent]
    (offer,) = offers(second.sent)
    assert offer.expires_at.timestamp() == T0.timestamp() + 60 + 20


async def test_an_offer_from_a_backlog_gets_its_window_from_processing_time() -> None:
    clock = [T0.timestamp() + 20]  # PostgreSQL was away: these inputs are 20 s old
    proc, publisher = processor(MemoryRoutingStore(), clock=lambda: clock[0])
    backlog = [*login("a1", 0), arrival("c1", 1)]
    await proc.process(0, [*batch(backlog), tick(5, 3), tick(19, 4)])
    (offer,) = offers(publisher.sent)
    assert offer.expires_at == at(40)
    assert not [o for o in publisher.sent if decode(o.value).TYPE == "offer_expired"]


async def test_a_claim_lost_to_another_owner_takes_a_fresh_processing_time() -> None:
    store = MemoryRoutingStore()
    clock = [T0.timestamp()]
    proc, publisher = processor(store, clock=lambda: clock[0])
    await proc.process(0, batch(login("a1", 0)))

    def another_owner_commits() -> None:
        store.tables.offsets[("routing", 0)] = 2
        store.before_lock = None

    store.before_lock = another_owner_commits
    with pytest.raises(BatchClaimLost):
        await proc.process(0, batch([arrival("c1", 1)], first_offset=2))
    clock[0] += 50
    await proc.process(0, batch([arrival("c2", 2)], first_offset=3))
    (offer,) = offers(publisher.sent)
    assert offer.expires_at.timestamp() == clock[0] + 20


async def test_redelivered_inputs_are_counted_and_skipped_in_any_batch_shape() -> None:
    proc, publisher = processor(MemoryRoutingStore())
    inputs = [*login("a1", 0), arrival("c1", 1), arrival("c2", 2)]
    await proc.process(0, batch(inputs))
    once = Counter(decode(o.value).event_id for o in publisher.sent)
    await proc.process(0, [rec(10 + n, r) for n, r in enumerate(reversed(inputs))])
    assert Counter(decode(o.value).event_id for o in publisher.sent) == once
    assert [o.offer_id for o in offers(publisher.sent)] == ["c1:1"]
    assert isinstance(offers(publisher.sent)[0], OfferMade)
