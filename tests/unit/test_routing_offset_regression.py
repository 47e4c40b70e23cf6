"""The routing processor over in-memory ports when its log goes backwards: inputs at or below
the stored offset are skipped only if their pool applied them; one never applied stops the
partition (nothing applied, nothing skipped, nothing stored) instead of being lost."""

from __future__ import annotations

import pytest

from schemas.routing import AdvanceRoutingClock
from streams.routing.ports import OffsetRegression
from tests.support.routing_fakes import MemoryRoutingStore
from tests.support.routing_inputs import TOPIC, arrival, batch, login, processor, rec


async def test_replayed_inputs_below_the_stored_offset_are_skipped_as_before() -> None:
    store = MemoryRoutingStore()
    proc, _ = processor(store)
    inputs = batch([*login("a1", 0), arrival("c1", 1), arrival("c2", 2)])
    await proc.process(0, inputs)
    restarted, again = processor(store)
    assert await restarted.process(0, inputs[1:3]) == []  # a replay from a committed offset
    assert again.sent == [] and store.tables.offsets[(TOPIC, 0)] == 3


async def test_an_input_never_applied_at_a_reused_offset_stops_the_partition() -> None:
    store = MemoryRoutingStore()
    proc, _ = processor(store)
    await proc.process(0, batch([*login("a1", 0), arrival("c1", 1), arrival("c2", 2)]))
    before = store.tables

    # the broker restarted empty: its log starts at 0 again, a tick then a new contact
    tick = rec(0, AdvanceRoutingClock(partition=0))
    new_log = [tick, rec(1, arrival("c3", 3))]
    restarted, publisher = processor(store)
    with pytest.raises(OffsetRegression) as found:
        await restarted.process(0, new_log)
    assert (found.value.partition, found.value.stored_offset) == (0, 3)
    assert (found.value.first_unseen, found.value.unseen) == (1, 1)
    assert publisher.sent == []  # nothing applied
    assert store.tables.offsets == before.offsets  # nothing stored or skipped
    assert "c3" not in store.tables.contacts.get("p1", {})


async def test_ticks_alone_below_the_stored_offset_are_no_regression() -> None:
    store = MemoryRoutingStore()
    proc, _ = processor(store)
    await proc.process(0, batch([*login("a1", 0), arrival("c1", 1)]))
    restarted, publisher = processor(store)
    assert await restarted.process(0, [rec(0, AdvanceRoutingClock(partition=0))]) == []
    assert publisher.sent == []
