"""The label values each kind of process knows in advance, exported at 0 from its start.

:func:`initialise` with the process's role makes every known combination (customer classes,
channels, outcomes, topics, reason categories, writers) appear on the first scrape, so
``rate()`` and ``increase()`` see the first increment and a panel shows 0 rather than
"No data". Labels not known in advance (pools, exception kinds) appear on first use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from streams.platform.metrics import (
    ASSIGNED_PARTITIONS,
    CHAT_REFUSAL_REASONS,
    CHAT_SESSIONS_REFUSED,
    CONTACTS_ABANDONED,
    CONTACTS_ANSWERED,
    CONTACTS_ARRIVED,
    CONTACTS_COMPLETED,
    CONTROL_ACTION_NAMES,
    CONTROL_ACTIONS,
    CSAT_ANSWERS,
    CSAT_SCORE,
    CSAT_SURVEYS,
    DB_WRITE_BATCH_SIZE,
    DB_WRITE_DURATION,
    DB_WRITE_FAILURES,
    DEAD_LETTER_REASONS,
    DEAD_LETTERS,
    ERRORS,
    EVENTS_IN,
    EVENTS_OUT,
    GATEWAY_REQUESTS,
    HANDLE,
    NOTICES,
    WAIT,
)

CHANNELS = ("voice", "sms", "email", "chat")
WAIT_OUTCOMES = ("answered", "abandoned")
# "none": a notice suppressed because no channel is allowed (no consent, no address)
NOTICE_CHANNELS = ("sms", "email", "voice", "none")
NOTICE_OUTCOMES = (
    "queued",
    "sent",
    "deferred",
    "failed",
    "suppressed",
    "retried",
    "uncertain",
    "unknown",
)
GATEWAY_OUTCOMES = (
    "accepted",
    "malformed",
    "bad_signature",
    "too_large",
    "unauthorized",
    "unavailable",
    "error",
)
DEAD_LETTER_SOURCES = ("contacts", "agent-events", "routing", "shipments")
SURVEY_CHANNELS = ("sms", "email", "chat")
SURVEY_OUTCOMES = ("planned", "sent", "deferred", "suppressed", "failed")


@dataclass(frozen=True)
class Role:
    """What one kind of process reads, writes and may count as an error (label values)."""

    consumes: tuple[tuple[str, str], ...] = ()  # (topic, consumer)
    produces: tuple[str, ...] = ()
    writers: tuple[str, ...] = ()
    errors: tuple[tuple[str, str], ...] = ()  # (component, kind)
    contacts: bool = False
    notices: bool = False
    dead_letters: bool = False
    gateway: bool = False
    group_member: bool = False  # consumes in a consumer group: partitions assigned to it
    surveys: bool = False  # satisfaction surveys: answers (by class, channel, reason) and sends
    control: bool = False  # admin changes and supervisor actions (the desk's admin API)


ROLES: dict[str, Role] = {
    "worker": Role(
        consumes=(
            ("contacts", "partition-by-pool"),
            ("agent-events", "partition-by-pool"),
            ("routing", "route"),
            ("contacts", "interaction-log"),
            ("agent-events", "interaction-log"),
            ("interactions", "interaction-log"),
            ("dead-letter", "interaction-log"),
            ("shipments", "notices"),
        ),
        produces=("routing", "offers", "interactions", "notices", "contacts", "dead-letter"),
        writers=("routing", "interaction_log", "notices"),
        errors=(
            ("interaction_log", "undecodable"),
            ("interaction_log", "record_refused"),
            ("interaction_log", "service_level_refresh"),
        ),
        contacts=True,
        notices=True,
        dead_letters=True,
        group_member=True,
    ),
    "gateway": Role(
        consumes=(("contacts", "gateway_chat"), ("agent-events", "gateway_chat_end")),
        produces=("contacts",),
        gateway=True,
        surveys=True,
    ),
    "desk": Role(
        consumes=(("offers", "desk_offers"), ("contacts", "desk_threads")),
        produces=("agent-events", "contacts", "guide-events", "routing"),
        surveys=True,
        control=True,
    ),
    "notifier": Role(
        produces=("notices",),
        writers=("notifier",),
        errors=(("notifier", "unexpected"),),
        notices=True,
        surveys=True,
    ),
}


def initialise(
    role: str, customer_classes: Iterable[str] = (), reasons: Iterable[str] = ("none",)
) -> None:
    """Export every known label combination of ``role`` at 0 (idempotent; values that are
    already there are kept). Call once at process start, before serving ``/metrics``.
    ``reasons`` are the contact reasons of the guides (surveys are counted by reason)."""
    known = ROLES[role]
    for topic, consumer in known.consumes:
        EVENTS_IN.labels(topic=topic, consumer=consumer)
    if known.group_member:
        for topic in sorted({topic for topic, _consumer in known.consumes}):
            ASSIGNED_PARTITIONS.labels(topic=topic)
    for topic in known.produces:
        EVENTS_OUT.labels(topic=topic)
    for writer in known.writers:
        DB_WRITE_FAILURES.labels(writer=writer)
        DB_WRITE_DURATION.labels(writer=writer)
        DB_WRITE_BATCH_SIZE.labels(writer=writer)
    for component, kind in known.errors:
        ERRORS.labels(component=component, kind=kind)
    if known.contacts:
        for klass in customer_classes:
            for channel in CHANNELS:
                labels = {"customer_class": klass, "channel": channel}
                for counter in (
                    CONTACTS_ARRIVED,
                    CONTACTS_ANSWERED,
                    CONTACTS_ABANDONED,
                    CONTACTS_COMPLETED,
                ):
                    counter.labels(**labels)
                HANDLE.labels(**labels)
                for outcome in WAIT_OUTCOMES:
                    WAIT.labels(outcome=outcome, **labels)
    if known.notices:
        for channel in NOTICE_CHANNELS:
            for outcome in NOTICE_OUTCOMES:
                NOTICES.labels(channel=channel, outcome=outcome)
    if known.dead_letters:
        for source in DEAD_LETTER_SOURCES:
            for reason in DEAD_LETTER_REASONS:
                DEAD_LETTERS.labels(source_topic=source, reason=reason)
    if known.surveys:
        _initialise_surveys(tuple(customer_classes), tuple(reasons))
    if known.control:
        for action in CONTROL_ACTION_NAMES:
            CONTROL_ACTIONS.labels(action=action)
    if known.gateway:
        for channel in CHANNELS:
            for outcome in GATEWAY_OUTCOMES:
                GATEWAY_REQUESTS.labels(channel=channel, outcome=outcome)
        for reason in CHAT_REFUSAL_REASONS:
            CHAT_SESSIONS_REFUSED.labels(reason=reason)


def _initialise_surveys(classes: tuple[str, ...], reasons: tuple[str, ...]) -> None:
    for channel in SURVEY_CHANNELS:
        for outcome in SURVEY_OUTCOMES:
            CSAT_SURVEYS.labels(channel=channel, outcome=outcome)
    for channel in CHANNELS:  # answers count by the surveyed contact's channel
        for klass in classes:
            for reason in reasons:
                labels = {"customer_class": klass, "channel": channel, "reason": reason}
                CSAT_ANSWERS.labels(**labels)
                CSAT_SCORE.labels(**labels)
