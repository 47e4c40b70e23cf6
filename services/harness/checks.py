"""The invariants routing must keep under crashes, as pure checks over decoded records.

Every check takes what was published (in topic order; per contact or per agent that is the
order routing decided in, since a subject's records share a key and so a partition) and, where
it applies, what PostgreSQL holds at the end, and returns the violations it finds. Records
are first deduplicated by event id, keeping the first copy, as every consumer does: a batch
replayed after a crash publishes byte-identical copies, which are not new decisions.

One function an invariant, all of them in this module: :func:`check` then reads as the list of
what routing promises under faults, which is why the module is longer than most.
"""

from __future__ import annotations

import base64
import json
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from schemas.base import Record
from schemas.codec import InvalidMessage, decode
from schemas.routing import (
    ContactAssigned,
    ContactQueued,
    ContactReleased,
    ContactRemoved,
    ContactRequeued,
    DeadLettered,
    OfferDeclined,
    OfferExpired,
    OfferMade,
    OfferRescinded,
)
from streams.routing.replay import compare

LOST = "lost"
LEFT_WAITING = "left_waiting"
DOUBLE_OFFER = "double_offer"
REOPENED = "reopened"
OVER_CAPACITY = "over_capacity"
DECISION_MISSING = "decision_missing"
DECISION_OUTCOME = "decision_outcome"
EVENT_ID_CONFLICT = "event_id_conflict"
CONTACT_ROW = "contact_row"
DEAD_LETTER = "dead_letter"
NOT_QUIET = "not_quiet"
REPLAY = "replay_differs"

KINDS: tuple[str, ...] = (
    LOST,
    LEFT_WAITING,
    DOUBLE_OFFER,
    REOPENED,
    OVER_CAPACITY,
    DECISION_MISSING,
    DECISION_OUTCOME,
    EVENT_ID_CONFLICT,
    CONTACT_ROW,
    DEAD_LETTER,
    NOT_QUIET,
)

OFFER_ENDS = (OfferDeclined, OfferExpired, OfferRescinded)
FINISHES = (ContactReleased, ContactRemoved)
REOPENS = (ContactQueued, ContactRequeued, OfferMade, ContactAssigned)
OUTCOMES: dict[type[Record], str] = {
    ContactAssigned: "accepted",
    OfferDeclined: "declined",
    OfferExpired: "expired",
    OfferRescinded: "rescinded",
}
SECONDS_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Violation:
    kind: str
    subject: str  # the contact, agent, offer or event id it is about
    detail: str
    contact: str = ""  # the contact whose records tell the story, when not the subject


@dataclass(frozen=True)
class ContactRow:
    """What the ``contacts`` table says about one contact."""

    status: str | None
    wait_seconds: float | None
    handle_seconds: float | None


@dataclass
class Observation:
    """Everything the checks look at, gathered at the end of a run."""

    arrived: Mapping[str, str]  # contact id → channel, as the harness published them
    capacity: Mapping[str, Mapping[str, int]]  # agent id → channel → concurrent contacts
    exclusive: Collection[str]  # channels whose work occupies the agent entirely
    interactions: Sequence[bytes]  # the interactions topic, from the beginning
    offers: Sequence[bytes]  # the offers topic, from the beginning
    dead_letters: Sequence[bytes]  # the dead-letter topic, from the beginning
    deliberate_dead_letters: Collection[bytes] = ()  # payloads the harness sent to fail
    # per exclusive channel, the other open contacts an agent may hold and be offered it
    cross_channel_hold: Mapping[str, int] = field(default_factory=dict)
    in_routing: Mapping[str, str] = field(default_factory=dict)  # routing_contacts: id → status
    decisions: Mapping[str, tuple[str, str | None]] = field(
        default_factory=dict
    )  # routing_decisions: OfferMade event id → (offer id, outcome)
    contact_rows: Mapping[str, ContactRow] = field(default_factory=dict)
    # routing's outputs made again from the recorded inputs and batches (contactcenter replay)
    replayed: Sequence[Record] | None = None


def first_copies(records: Iterable[Record]) -> list[Record]:
    """The records with each event id kept once, at its first position."""
    seen: set[str] = set()
    out: list[Record] = []
    for record in records:
        if record.event_id not in seen:
            seen.add(record.event_id)
            out.append(record)
    return out


def contact_of(record: Record) -> str | None:
    return getattr(record, "contact_id", None)


# ---------------------------------------------------------------------------------------------
# Contacts
# ---------------------------------------------------------------------------------------------
def unfinished_contacts(
    arrived: Iterable[str], interactions: Sequence[Record], in_routing: Mapping[str, str]
) -> list[Violation]:
    """Every contact that arrived is completed or abandoned; one still in routing's live queue
    at the end (with agents ready) is left waiting, one that is nowhere is lost."""
    finished = {r.contact_id for r in interactions if isinstance(r, FINISHES)}
    queued = {r.contact_id for r in interactions if isinstance(r, ContactQueued)}
    out: list[Violation] = []
    for contact_id in sorted(set(arrived) - finished):
        if contact_id in in_routing:
            status = in_routing[contact_id]
            out.append(Violation(LEFT_WAITING, contact_id, f"still {status} at the end"))
        else:
            seen = "queued once" if contact_id in queued else "never queued"
            out.append(Violation(LOST, contact_id, f"neither finished nor in routing ({seen})"))
    return out


def double_offers(interactions: Sequence[Record]) -> list[Violation]:
    """No contact offered while another offer of it is open or while it is assigned."""
    held: dict[str, tuple[str, str, str]] = {}  # contact → (offered/assigned, offer id, agent)
    out: list[Violation] = []
    for record in first_copies(interactions):
        contact_id = contact_of(record)
        if contact_id is None:
            continue
        current = held.get(contact_id)
        if isinstance(record, OfferMade):
            if current is not None:
                phase, offer_id, agent_id = current
                out.append(
                    Violation(
                        DOUBLE_OFFER,
                        contact_id,
                        f"{record.offer_id} to {record.agent_id} while {offer_id} is {phase}"
                        f" with {agent_id}",
                    )
                )
            held[contact_id] = ("offered", record.offer_id, record.agent_id)
        elif isinstance(record, ContactAssigned):
            held[contact_id] = ("assigned", record.offer_id, record.agent_id)
        elif isinstance(record, OFFER_ENDS):
            if current is not None and current[0] == "offered" and current[1] == record.offer_id:
                del held[contact_id]
        elif isinstance(record, FINISHES):
            held.pop(contact_id, None)
    return out


def reopened_contacts(interactions: Sequence[Record]) -> list[Violation]:
    """After a contact is released or removed, nothing queues, offers, assigns or finishes it
    again."""
    finished: dict[str, Record] = {}
    out: list[Violation] = []
    for record in first_copies(interactions):
        contact_id = contact_of(record)
        if contact_id is None:
            continue
        end = finished.get(contact_id)
        if isinstance(record, (*FINISHES, *REOPENS)) and end is not None:
            out.append(
                Violation(
                    REOPENED,
                    contact_id,
                    f"{record.TYPE} {record.event_id} after {end.TYPE} {end.event_id}",
                )
            )
        elif isinstance(record, FINISHES):
            finished[contact_id] = record
    return out


# ---------------------------------------------------------------------------------------------
# Agents
# ---------------------------------------------------------------------------------------------
def agents_over_capacity(
    offers: Sequence[Record],
    channels: Mapping[str, str],
    capacity: Mapping[str, Mapping[str, int]],
    exclusive: Collection[str],
    hold: Mapping[str, int] | None = None,
) -> list[Violation]:
    """Per agent, in the order of the offers topic: open offers plus assigned contacts per
    channel never above the agent's capacity, and work on an exclusive channel alone — but
    for the other open contacts ``hold`` lets an agent have when it is offered one; nothing
    is offered to an agent while it holds exclusive work."""
    work: dict[str, dict[str, str]] = defaultdict(dict)  # agent → contact → channel
    out: list[Violation] = []
    for record in first_copies(offers):
        agent_id = getattr(record, "agent_id", None)
        contact_id = contact_of(record)
        if agent_id is None or contact_id is None:
            continue
        held = work[agent_id]
        if isinstance(record, OfferMade):
            held[contact_id] = channels.get(contact_id, "unknown")
            problem = _overload(
                held, capacity.get(agent_id, {}), exclusive, held[contact_id], hold or {}
            )
            if problem:
                out.append(Violation(OVER_CAPACITY, agent_id, f"{record.offer_id}: {problem}"))
        elif isinstance(record, (*OFFER_ENDS, ContactReleased)):
            held.pop(contact_id, None)
    return out


def _overload(
    held: Mapping[str, str],
    limits: Mapping[str, int],
    exclusive: Collection[str],
    offered: str,
    hold: Mapping[str, int],
) -> str:
    load = Counter(held.values())
    over = [
        f"{n} {ch} > {limits.get(ch, 0)}" for ch, n in sorted(load.items()) if n > limits.get(ch, 0)
    ]
    on_exclusive = [ch for ch in held.values() if ch in exclusive]
    if on_exclusive:
        others = len(held) - len(on_exclusive)
        allowed = hold.get(on_exclusive[0], 0)
        if len(on_exclusive) > 1 or offered not in exclusive or others > allowed:
            over.append(f"exclusive work shared: {dict(sorted(load.items()))}")
    return "; ".join(over)


def replay_differences(
    interactions: Sequence[Record], replayed: Sequence[Record] | None
) -> list[Violation]:
    """Every decision published must be the one routing makes again from what it recorded
    (its inputs and ticks on the routing topic, its batches and their processing times)."""
    if replayed is None:
        return []
    published = {r.event_id: r for r in first_copies(interactions)}
    pools = sorted({str(getattr(r, "pool_id", "")) for r in [*published.values(), *replayed]})
    return [
        Violation(REPLAY, difference.event_id, difference.describe())
        for pool_id in pools
        for difference in compare(published, replayed, pool_id=pool_id)
    ]


# ---------------------------------------------------------------------------------------------
# The interaction log and the topics' own consistency
# ---------------------------------------------------------------------------------------------
def decision_mismatches(
    interactions: Sequence[Record], decisions: Mapping[str, tuple[str, str | None]]
) -> list[Violation]:
    """Every OfferMade has its ``routing_decisions`` row (by event id), with the offer's
    outcome as the topic tells it (NULL while open); no row without an offer."""
    made: dict[str, str] = {}  # event id → offer id
    outcome: dict[str, str] = {}
    for record in first_copies(interactions):
        if isinstance(record, OfferMade):
            made[record.event_id] = record.offer_id
        elif isinstance(record, (ContactAssigned, *OFFER_ENDS)):
            outcome.setdefault(record.offer_id, OUTCOMES[type(record)])
    out: list[Violation] = []
    for event_id, offer_id in made.items():
        row = decisions.get(event_id)
        expected = outcome.get(offer_id)
        if row is None:
            out.append(
                Violation(DECISION_MISSING, offer_id, f"no routing_decisions row {event_id}")
            )
        elif row != (offer_id, expected):
            out.append(
                Violation(
                    DECISION_OUTCOME,
                    offer_id,
                    f"row says {row[0]} {row[1]}, the topic {offer_id} {expected}",
                )
            )
    for event_id in sorted(set(decisions) - set(made)):
        offer_id = decisions[event_id][0]
        out.append(Violation(DECISION_OUTCOME, offer_id, f"row {event_id} has no OfferMade"))
    return out


def event_id_conflicts(values: Iterable[bytes]) -> list[Violation]:
    """Every event id stands for one content: copies of a record are byte-identical."""
    contents: dict[str, dict[bytes, dict[str, object]]] = defaultdict(dict)
    out: list[Violation] = []
    for value in values:
        try:
            body = json.loads(value)
            event_id = str(body["event_id"])
        except (ValueError, KeyError, TypeError):
            out.append(Violation(EVENT_ID_CONFLICT, "?", f"not a record: {value[:80]!r}"))
            continue
        contents[event_id].setdefault(value, body)
    for event_id, variants in sorted(contents.items()):
        if len(variants) > 1:
            first, *others = variants.values()
            differ = sorted({k for other in others for k in first if first[k] != other.get(k)})
            shown = "; ".join(
                f"{k}: " + " vs ".join(repr(v.get(k)) for v in variants.values()) for k in differ
            )
            contact = str(first.get("contact_id") or "")
            out.append(
                Violation(
                    EVENT_ID_CONFLICT,
                    event_id,
                    f"{len(variants)} contents ({shown})",
                    contact,
                )
            )
    return out


def contact_row_mismatches(
    interactions: Sequence[Record], rows: Mapping[str, ContactRow]
) -> list[Violation]:
    """The ``contacts`` table agrees with the outputs: completed or abandoned as they say,
    with the wait (to answer or to abandonment) and handle time they carry."""
    expected: dict[str, ContactRow] = {}
    waits: dict[str, float] = {}
    for record in first_copies(interactions):
        if isinstance(record, ContactAssigned):
            waits.setdefault(record.contact_id, record.waited_seconds)
        elif isinstance(record, ContactReleased):
            expected.setdefault(
                record.contact_id,
                ContactRow("completed", waits.get(record.contact_id), record.handle_seconds),
            )
        elif isinstance(record, ContactRemoved):
            status = "abandoned" if record.reason == "abandoned" else "removed"
            expected.setdefault(record.contact_id, ContactRow(status, record.waited_seconds, None))
    out: list[Violation] = []
    for contact_id, want in sorted(expected.items()):
        have = rows.get(contact_id)
        if have is None:
            out.append(Violation(CONTACT_ROW, contact_id, "no contacts row"))
        elif not _same_row(want, have):
            out.append(Violation(CONTACT_ROW, contact_id, f"row {have}, outputs say {want}"))
    for contact_id, have in sorted(rows.items()):
        if contact_id not in expected and have.status in ("completed", "abandoned", "removed"):
            out.append(Violation(CONTACT_ROW, contact_id, f"row {have}, no finishing output"))
    return out


def _same_row(want: ContactRow, have: ContactRow) -> bool:
    return (
        want.status == have.status
        and _same_seconds(want.wait_seconds, have.wait_seconds)
        and _same_seconds(want.handle_seconds, have.handle_seconds)
    )


def _same_seconds(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= SECONDS_TOLERANCE


def unexpected_dead_letters(
    dead_letters: Sequence[Record], deliberate: Collection[bytes]
) -> list[Violation]:
    """Only what the harness sent to fail is dead-lettered, and all of it is."""
    out: list[Violation] = []
    seen: set[bytes] = set()
    for record in dead_letters:
        if not isinstance(record, DeadLettered):
            out.append(Violation(DEAD_LETTER, record.event_id, f"a {record.TYPE} on dead-letter"))
            continue
        payload = base64.b64decode(record.payload_b64)
        seen.add(payload)
        if payload not in deliberate:
            out.append(
                Violation(DEAD_LETTER, record.source_topic, f"{record.reason}: {payload[:120]!r}")
            )
    for payload in sorted(set(deliberate) - seen):
        out.append(Violation(DEAD_LETTER, "missing", f"never dead-lettered: {payload[:120]!r}"))
    return out


# ---------------------------------------------------------------------------------------------
# All of them
# ---------------------------------------------------------------------------------------------
def decode_all(values: Iterable[bytes]) -> tuple[list[Record], list[bytes]]:
    """The records, and the values that are not records."""
    records: list[Record] = []
    bad: list[bytes] = []
    for value in values:
        try:
            records.append(decode(value))
        except InvalidMessage:
            bad.append(value)
    return records, bad


def check(observation: Observation) -> list[Violation]:
    interactions, bad_interactions = decode_all(observation.interactions)
    offers, bad_offers = decode_all(observation.offers)
    dead, bad_dead = decode_all(observation.dead_letters)
    return [
        *unfinished_contacts(observation.arrived, interactions, observation.in_routing),
        *double_offers(interactions),
        *reopened_contacts(interactions),
        *agents_over_capacity(
            offers,
            observation.arrived,
            observation.capacity,
            observation.exclusive,
            observation.cross_channel_hold,
        ),
        *decision_mismatches(interactions, observation.decisions),
        *event_id_conflicts([*observation.interactions, *observation.offers]),
        *contact_row_mismatches(interactions, observation.contact_rows),
        *unexpected_dead_letters(dead, observation.deliberate_dead_letters),
        *replay_differences(interactions, observation.replayed),
        *(
            Violation(EVENT_ID_CONFLICT, "?", f"undecodable output: {v[:80]!r}")
            for v in [*bad_interactions, *bad_offers]
        ),
        *(Violation(DEAD_LETTER, "?", f"not a record: {v[:80]!r}") for v in bad_dead),
    ]


def history(subject: str, interactions: Sequence[Record]) -> list[str]:
    """The records of one contact (or agent) in topic order, every copy, for a report."""
    lines: list[str] = []
    for record in interactions:
        if subject not in (contact_of(record), getattr(record, "agent_id", None)):
            continue
        extra = " ".join(
            f"{name}={getattr(record, name)}"
            for name in (
                "offer_id",
                "agent_id",
                "reason",
                "expires_at",
                "waited_seconds",
                "handle_seconds",
            )
            if getattr(record, name, None) not in (None, "")
        )
        when = record.occurred_at.isoformat(timespec="milliseconds")
        lines.append(f"{when} {record.TYPE} {record.event_id} {extra}".rstrip())
    return lines
