"""The interaction log's pure parts: which rows a record yields, and the retry loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from schemas import agents as ag
from schemas import contacts as ct
from schemas import routing as rt
from streams import interaction_log as lw
from tests.support.metrics import sample_value

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _entry(record: object, offset: int = 0) -> lw.LogEntry:
    return lw.LogEntry(record, "interactions", 0, offset)  # type: ignore[arg-type]


def test_arrival_gives_channel_class_customer_key_and_time() -> None:
    record = ct.ContactArrived(
        pool_id="p",
        contact_id="c1",
        channel=ct.Channel.SMS,
        customer=ct.CustomerRef(phone="+15550001"),
        customer_class="vip",
        occurred_at=T0,
    )
    patch = lw.contact_patch(record)
    assert patch is not None
    assert (patch.channel, patch.arrival_class, patch.queue_class) == ("sms", "vip", None)
    assert patch.customer_key == "+15550001"
    assert patch.arrived_at == T0


def test_routing_outputs_patch_the_lifecycle() -> None:
    common = {"pool_id": "p", "cause_event_id": "x", "occurred_at": T0}
    queued = rt.ContactQueued(
        contact_id="c", customer_class="vip", channel="voice", priority=1, arrived_at=T0, **common
    )
    assigned = rt.ContactAssigned(
        contact_id="c", agent_id="a", offer_id="c:1", waited_seconds=12.5, **common
    )
    removed = rt.ContactRemoved(contact_id="c", reason="abandoned", waited_seconds=40, **common)
    gone = rt.ContactRemoved(contact_id="c", reason="ended", waited_seconds=3, **common)
    released = rt.ContactReleased(
        contact_id="c", agent_id="a", disposition="resolved", handle_seconds=90, **common
    )
    assert lw.contact_patch(queued).queue_class == "vip"  # type: ignore[union-attr]
    p = lw.contact_patch(assigned)
    assert p is not None and (p.answered_at, p.agent_id, p.wait_seconds) == (T0, "a", 12.5)
    p = lw.contact_patch(removed)
    assert p is not None and p.abandoned_at == T0 and p.wait_seconds == 40
    p = lw.contact_patch(gone)
    assert p is not None and p.abandoned_at is None and p.removed_reason == "ended"
    p = lw.contact_patch(released)
    assert p is not None and (p.completed_at, p.handle_seconds, p.disposition) == (
        T0,
        90,
        "resolved",
    )
    assert lw.decision_outcome(assigned) == ("c:1", "accepted", T0)
    assert lw.contact_patch(ag.AgentReady(pool_id="p", agent_id="a")) is None


def test_offer_rows_keep_the_explanation() -> None:
    offer = rt.OfferMade(
        pool_id="p",
        cause_event_id="x",
        offer_id="c:1",
        contact_id="c",
        agent_id="a",
        attempt=1,
        expires_at=T0 + timedelta(seconds=20),
        explanation={"winner": "a", "candidates": [{"agent": "a", "score": 3.0}]},
        occurred_at=T0,
    )
    row = lw.decision_row(offer)
    assert row is not None and '"winner": "a"' in row[-1]
    patch = lw.contact_patch(offer)
    assert patch is not None and patch.offers == 1 and patch.first_offered_at == T0
    state = rt.AgentStateChanged(
        pool_id="p", cause_event_id="x", agent_id="a", state="ready", reason="login"
    )
    assert lw.agent_state_row(state)[:4] == (state.event_id, "a", "p", "ready")  # type: ignore[index]


def test_event_row_and_dedupe() -> None:
    record = ag.AgentReady(pool_id="p", agent_id="a")
    entries = [_entry(record, 1), _entry(record, 2)]
    unique = lw.unique_entries(entries)
    assert [e.offset for e in unique] == [1]
    row = lw.event_row(unique[0])
    assert row[0] == record.event_id and row[1] == "agent_ready" and row[7] == "a"
    assert '"type":"agent_ready"' in row[-1]


def test_undecodable_messages_are_counted_and_skipped() -> None:
    before = sample_value(
        "contactcenter_errors_total", {"component": lw.WRITER, "kind": "undecodable"}
    )
    assert lw.decode_entry(b"not json", "x.contacts", 0, 1, "x.") is None
    entry = lw.decode_entry(
        ag.AgentReady(pool_id="p", agent_id="a").to_bytes(), "x.agent-events", 2, 7, "x."
    )
    assert entry is not None and entry.topic == "agent-events" and entry.offset == 7
    assert (
        sample_value("contactcenter_errors_total", {"component": lw.WRITER, "kind": "undecodable"})
        == before + 1
    )


async def test_retry_keeps_the_batch_until_postgres_is_back() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    async def flaky(entries: Sequence[lw.LogEntry]) -> lw.WriteResult:
        calls.append(len(entries))
        if len(calls) < 4:
            raise ConnectionRefusedError("down")
        return lw.WriteResult(list(entries))

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    batch = [_entry(ag.AgentReady(pool_id="p", agent_id="a"))]
    result = await lw.write_with_retry(flaky, batch, sleep=no_sleep)
    assert calls == [1, 1, 1, 1] and len(sleeps) == 3 and sleeps[0] <= sleeps[-1] * 2
    assert result.written == batch
    assert sample_value("contactcenter_db_up", {"writer": lw.WRITER}) == 1


async def test_a_refused_record_is_skipped_not_retried_forever() -> None:
    bad = _entry(ag.AgentReady(pool_id="p", agent_id="bad"), 1)
    good = _entry(ag.AgentReady(pool_id="p", agent_id="good"), 2)

    async def write(entries: Sequence[lw.LogEntry]) -> lw.WriteResult:
        if bad in entries:
            raise asyncpg.DataError("refused")
        return lw.WriteResult(list(entries))

    result = await asyncio.wait_for(lw.write_with_retry(write, [bad, good]), 5)
    assert result.written == [good]


def test_lag_is_highwater_minus_next_offset() -> None:
    class TP:
        def __init__(self, topic: str, partition: int) -> None:
            self.topic, self.partition = topic, partition

    tps = [TP("x.interactions", 0), TP("x.interactions", 1)]

    class Consumer:
        _committed_offset = {tps[0]: 9, tps[1]: None}

        def assignment(self) -> list[TP]:
            return tps

        def highwater(self, tp: TP) -> int:
            return 15

    lw.update_consumer_lag(Consumer(), "x.")
    lag = "contactcenter_consumer_lag_messages"
    assert sample_value(lag, {"topic": "interactions", "partition": "0"}) == 5
    assert sample_value(lag, {"topic": "interactions", "partition": "1"}) == 15


@pytest.mark.parametrize("seconds", [0.5, 20.0, 45.0])
def test_observe_counts_answers_into_wait_buckets(seconds: float) -> None:
    common = {"pool_id": "p", "cause_event_id": "x"}
    labels = {"customer_class": "obs", "channel": "chat"}
    assigned = rt.ContactAssigned(
        contact_id="c", agent_id="a", offer_id="c:1", waited_seconds=seconds, **common
    )
    before = sample_value("contactcenter_contacts_answered_total", labels)
    within = sample_value(
        "contactcenter_wait_seconds_bucket", {**labels, "outcome": "answered", "le": "20.0"}
    )
    lw.observe(lw.WriteResult([_entry(assigned)], {"c": ("obs", "chat")}))
    assert sample_value("contactcenter_contacts_answered_total", labels) == before + 1
    assert sample_value(
        "contactcenter_wait_seconds_bucket", {**labels, "outcome": "answered", "le": "20.0"}
    ) == within + (1 if seconds <= 20 else 0)


def test_merged_patches_equal_patches_applied_in_order() -> None:
    first = lw.ContactPatch("c", "p", arrival_class="standard", arrived_at=T0, offers=1)
    queued = lw.ContactPatch("c", "p", channel="chat", queue_class="vip", queued_at=T0)
    later = lw.ContactPatch(
        "c", "p", channel="voice", queue_class="gold", arrived_at=T0 - timedelta(seconds=5)
    )
    other = lw.ContactPatch("d", "p", offers=2, callback_requested=True)
    merged = {p.contact_id: p for p in lw.merge_patches([first, queued, other, later])}
    c = merged["c"]
    assert (c.channel, c.queue_class, c.arrival_class) == ("chat", "gold", "standard")
    assert (c.arrived_at, c.queued_at, c.offers) == (T0 - timedelta(seconds=5), T0, 1)
    assert merged["d"] == other
