"""The crash harness's checks: each one finds its violation in a hand-made sequence, and finds
nothing in a clean one (replayed copies included)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from schemas.base import Record
from schemas.routing import (
    AgentStateChanged,
    ContactAssigned,
    ContactQueued,
    ContactReleased,
    ContactRemoved,
    ContactRequeued,
    DeadLettered,
    OfferExpired,
    OfferMade,
    OfferRescinded,
)
from services.harness import checks
from services.harness.checks import ContactRow, Observation

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
POOL = "p"
CAPACITY = {"a1": {"voice": 1, "chat": 3}, "a2": {"voice": 1, "chat": 3}}
VOICE = frozenset({"voice"})


def queued(contact: str, cause: str = "arr") -> ContactQueued:
    return ContactQueued(
        event_id=f"{cause}-{contact}:{POOL}:0:contact_queued",
        pool_id=POOL,
        cause_event_id=f"{cause}-{contact}",
        contact_id=contact,
        customer_class="standard",
        channel="chat",
        priority=0.0,
        arrived_at=T0,
        occurred_at=T0,
    )


def offer(contact: str, agent: str, attempt: int = 1) -> OfferMade:
    return OfferMade(
        event_id=f"o-{contact}-{attempt}",
        pool_id=POOL,
        cause_event_id="x",
        offer_id=f"{contact}:{attempt}",
        contact_id=contact,
        agent_id=agent,
        attempt=attempt,
        expires_at=T0,
        occurred_at=T0,
    )


def assigned(contact: str, agent: str, attempt: int = 1, waited: float = 2.0) -> ContactAssigned:
    return ContactAssigned(
        event_id=f"as-{contact}-{attempt}",
        pool_id=POOL,
        cause_event_id="x",
        contact_id=contact,
        agent_id=agent,
        offer_id=f"{contact}:{attempt}",
        waited_seconds=waited,
        occurred_at=T0,
    )


def expired(contact: str, agent: str, attempt: int = 1) -> OfferExpired:
    return OfferExpired(
        event_id=f"ex-{contact}-{attempt}",
        pool_id=POOL,
        cause_event_id="tick",
        offer_id=f"{contact}:{attempt}",
        contact_id=contact,
        agent_id=agent,
        occurred_at=T0,
    )


def rescinded(contact: str, agent: str, attempt: int = 1) -> OfferRescinded:
    return OfferRescinded(
        event_id=f"re-{contact}-{attempt}",
        pool_id=POOL,
        cause_event_id="ab",
        offer_id=f"{contact}:{attempt}",
        contact_id=contact,
        agent_id=agent,
        reason="abandoned",
        occurred_at=T0,
    )


def released(contact: str, agent: str, handled: float = 5.0) -> ContactReleased:
    return ContactReleased(
        event_id=f"rel-{contact}",
        pool_id=POOL,
        cause_event_id="done",
        contact_id=contact,
        agent_id=agent,
        disposition="resolved",
        handle_seconds=handled,
        occurred_at=T0,
    )


def removed(contact: str, waited: float = 7.0) -> ContactRemoved:
    return ContactRemoved(
        event_id=f"rm-{contact}",
        pool_id=POOL,
        cause_event_id="ab",
        contact_id=contact,
        reason="abandoned",
        waited_seconds=waited,
        occurred_at=T0,
    )


def kinds(violations: list[checks.Violation]) -> list[tuple[str, str]]:
    return [(v.kind, v.subject) for v in violations]


CLEAN: list[Record] = [
    queued("c1"),
    offer("c1", "a1"),
    offer("c1", "a1"),  # a replayed batch: the same record again
    expired("c1", "a1"),
    ContactRequeued(
        event_id="rq-c1",
        pool_id=POOL,
        cause_event_id="tick",
        contact_id="c1",
        reason="offer_expired",
        arrived_at=T0,
        occurred_at=T0,
    ),
    offer("c1", "a2", attempt=2),
    assigned("c1", "a2", attempt=2),
    released("c1", "a2"),
    queued("c2"),
    removed("c2"),
    queued("c2"),  # a replayed copy of an earlier record stays a copy
]


def test_a_clean_history_with_replayed_copies_passes_every_check() -> None:
    observation = Observation(
        arrived={"c1": "chat", "c2": "voice"},
        capacity=CAPACITY,
        exclusive=VOICE,
        interactions=[r.to_bytes() for r in CLEAN],
        offers=[r.to_bytes() for r in CLEAN if getattr(r, "agent_id", None)],
        dead_letters=[],
        decisions={
            "o-c1-1": ("c1:1", "expired"),
            "o-c1-2": ("c1:2", "accepted"),
        },
        contact_rows={
            "c1": ContactRow("completed", 2.0, 5.0),
            "c2": ContactRow("abandoned", 7.0, None),
        },
    )
    assert checks.check(observation) == []


def test_a_contact_neither_finished_nor_in_routing_is_lost_and_one_still_there_left() -> None:
    found = checks.unfinished_contacts(
        ["c1", "c2", "c3", "c4"],
        [queued("c1"), released("c1", "a1"), queued("c2"), queued("c3"), removed("c4")],
        {"c3": "waiting"},
    )
    assert kinds(found) == [("lost", "c2"), ("left_waiting", "c3")]


def test_an_offer_while_another_is_open_or_while_assigned_is_a_double_offer() -> None:
    found = checks.double_offers(
        [
            offer("c1", "a1"),
            offer("c1", "a2", attempt=2),  # c1:1 still open
            offer("c2", "a1"),
            assigned("c2", "a1"),
            offer("c2", "a2", attempt=2),  # c2 is with a1
            offer("c3", "a1"),
            rescinded("c3", "a1"),
            offer("c3", "a2", attempt=2),  # fine: the first one ended
        ]
    )
    assert kinds(found) == [("double_offer", "c1"), ("double_offer", "c2")]


def test_an_ended_offer_of_another_attempt_does_not_close_the_open_one() -> None:
    found = checks.double_offers(
        [offer("c1", "a1", 2), expired("c1", "a1", 1), offer("c1", "a2", 3)]
    )
    assert kinds(found) == [("double_offer", "c1")]


def test_anything_opening_a_finished_contact_again_is_a_reopening() -> None:
    found = checks.reopened_contacts(
        [
            queued("c1"),
            offer("c1", "a1"),
            assigned("c1", "a1"),
            released("c1", "a1"),
            queued("c1", cause="arr-again"),  # a new id: not a copy, a new decision
            queued("c2"),
            removed("c2"),
            offer("c2", "a1"),
            released("c2", "a1"),
        ]
    )
    assert kinds(found) == [("reopened", "c1"), ("reopened", "c2"), ("reopened", "c2")]


def test_open_offers_and_assignments_above_capacity_or_sharing_voice_are_caught() -> None:
    channels = {"v1": "voice", "v2": "voice", "k1": "chat", "k2": "chat", "k3": "chat"}
    chats = [offer(c, "a1") for c in ("k1", "k2", "k3")]
    fine = checks.agents_over_capacity(
        [*chats, released("k1", "a1"), offer("k4", "a1")],
        {**channels, "k4": "chat"},
        CAPACITY,
        VOICE,
    )
    assert fine == []
    found = checks.agents_over_capacity(
        [
            *chats,
            assigned("k1", "a1"),
            offer("k4", "a1"),  # a fourth chat
            offer("v1", "a2"),
            offer("k5", "a2"),  # a chat while on a call
            expired("k5", "a2"),
            offer("v2", "a2"),  # a second call
        ],
        {**channels, "k4": "chat", "k5": "chat"},
        CAPACITY,
        VOICE,
    )
    assert [v.subject for v in found] == ["a1", "a2", "a2"]
    assert {v.kind for v in found} == {"over_capacity"}
    assert "4 chat > 3" in found[0].detail
    assert "exclusive" in found[1].detail and "2 voice > 1" in found[2].detail


def test_a_call_offered_over_open_chats_is_fine_within_the_cross_channel_hold() -> None:
    channels = {"v1": "voice", "k1": "chat", "k2": "chat", "k3": "chat"}
    one_chat_then_a_call = [offer("k1", "a1"), assigned("k1", "a1"), offer("v1", "a1")]
    assert checks.agents_over_capacity(one_chat_then_a_call, channels, CAPACITY, VOICE) != []
    assert (
        checks.agents_over_capacity(one_chat_then_a_call, channels, CAPACITY, VOICE, {"voice": 1})
        == []
    )
    found = checks.agents_over_capacity(
        [
            offer("k1", "a1"),
            offer("k2", "a1"),
            offer("v1", "a1"),  # two chats open: over an allowance of one
            expired("v1", "a1"),
            expired("k2", "a1"),
            offer("v1", "a1", attempt=2),  # one chat open: fine
            offer("k3", "a1"),  # but nothing while on the call
        ],
        channels,
        CAPACITY,
        VOICE,
        {"voice": 1},
    )
    assert [v.detail.split(": ")[0] for v in found] == ["v1:1", "k3:1"]


def test_offers_and_their_outcomes_must_match_the_decision_rows() -> None:
    records: list[Record] = [
        offer("c1", "a1"),
        assigned("c1", "a1"),
        offer("c2", "a1"),
        expired("c2", "a1"),
        offer("c3", "a2"),
        offer("c4", "a2"),
    ]
    rows = {
        "o-c1-1": ("c1:1", "accepted"),
        "o-c2-1": ("c2:1", "accepted"),  # the topic says expired
        # o-c3-1 missing
        "o-c4-1": ("c4:1", None),  # open on both sides
        "o-c9-1": ("c9:1", "declined"),  # no such offer on the topic
    }
    found = checks.decision_mismatches(records, rows)
    assert kinds(found) == [
        ("decision_outcome", "c2:1"),
        ("decision_missing", "c3:1"),
        ("decision_outcome", "c9:1"),
    ]


def test_one_event_id_with_two_contents_is_a_conflict() -> None:
    first = offer("c1", "a1")
    other = first.model_copy(update={"agent_id": "a2"})  # same id, another decision
    found = checks.event_id_conflicts(
        [first.to_bytes(), first.to_bytes(), other.to_bytes(), b"garbage"]
    )
    assert kinds(found) == [("event_id_conflict", "?"), ("event_id_conflict", "o-c1-1")]
    assert found[1].detail == "2 contents (agent_id: 'a1' vs 'a2')"
    assert found[1].contact == "c1"


def test_the_contacts_table_must_say_what_the_outputs_say() -> None:
    records: list[Record] = [
        assigned("c1", "a1", waited=2.0),
        released("c1", "a1", handled=5.0),
        removed("c2", waited=7.0),
        assigned("c3", "a1", waited=1.0),
        released("c3", "a1", handled=3.0),
    ]
    rows = {
        "c1": ContactRow("completed", 2.0, 5.0),
        "c2": ContactRow("abandoned", 9.0, None),  # wrong wait
        # c3 missing
        "c4": ContactRow("completed", 1.0, 1.0),  # finished without an output
        "c5": ContactRow("queued", None, None),  # not finished: nothing to compare
    }
    found = checks.contact_row_mismatches(records, rows)
    assert kinds(found) == [
        ("contact_row", "c2"),
        ("contact_row", "c3"),
        ("contact_row", "c4"),
    ]


def test_only_the_deliberate_dead_letters_are_allowed_and_all_of_them_must_arrive() -> None:
    def dead(payload: bytes) -> DeadLettered:
        return DeadLettered(
            reason="not JSON",
            source_topic="contacts",
            payload_b64=base64.b64encode(payload).decode(),
        )

    state = AgentStateChanged(
        pool_id=POOL, cause_event_id="x", agent_id="a1", state="ready", reason=""
    )
    found = checks.unexpected_dead_letters(
        [dead(b"meant"), dead(b"meant"), dead(b'{"type":"offer_accepted"}'), state],
        [b"meant", b"also meant"],
    )
    assert [v.kind for v in found] == ["dead_letter"] * 3
    assert [v.subject for v in found] == ["contacts", state.event_id, "missing"]


def test_history_lists_every_copy_of_one_contact_in_order() -> None:
    lines = checks.history("c1", CLEAN)
    assert lines[0].startswith(
        "2026-11-28T09:00:00.000+00:00 contact_queued arr-c1:p:0:contact_queued"
    )
    assert lines[1] == lines[2]  # the replayed copy is shown
    assert "offer_id=c1:2 agent_id=a2" in lines[6]
    assert len(lines) == 8


def test_replay_finds_a_decision_routing_would_not_make_again() -> None:
    published = [queued("c1"), offer("c1", "a1"), offer("c1", "a1"), assigned("c1", "a1")]
    assert checks.replay_differences(published, None) == []
    assert checks.replay_differences(published, published[:2] + published[3:]) == []
    replayed = [queued("c1"), offer("c1", "a2"), assigned("c1", "a1")]
    (found,) = checks.replay_differences(published, replayed)
    assert (found.kind, found.subject) == (checks.REPLAY, "o-c1-1")
    assert "agent_id: 'a1' → 'a2'" in found.detail
    (missing,) = checks.replay_differences(published, replayed[:1] + replayed[2:])
    assert missing.detail.startswith("recorded, not replayed: o-c1-1")
