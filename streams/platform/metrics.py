"""Every Prometheus metric of the project, in one module (declarations, one after the other:
its length is the catalogue's).

Conventions (https://prometheus.io/docs/practices/naming/):

* every name starts with ``contactcenter_``;
* times are in seconds (``_seconds``), ratios are 0..1 (``_ratio``);
* counters end in ``_total``; histograms export ``_bucket``, ``_sum`` and ``_count``;
* label values are bounded sets (pool, customer class, channel, state, outcome, topic,
  a reason *category*), never ids.

Every process exports the same catalogue; Prometheus tells processes apart by its ``job`` and
``instance`` labels. At start each process exports its known label values at 0
(:mod:`streams.platform.metrics_roles`) and serves the page (:mod:`streams.platform.ops_server`).

The catalogue, with who updates what:

=====================================================  =========  ==============================
metric                                                 type       updated by
=====================================================  =========  ==============================
contactcenter_queue_depth                              gauge      routing (per pool/class/chan.)
contactcenter_queue_longest_wait_seconds               gauge      routing
contactcenter_predicted_wait_seconds                   gauge      routing (a new arrival's)
contactcenter_agents                                   gauge      routing (per pool and state)
contactcenter_offers_total                             counter    routing (per pool and outcome)
contactcenter_routing_decision_duration_seconds        histogram  routing
contactcenter_routing_redelivered_inputs_total         counter    routing (inputs seen before)
contactcenter_routing_offset_regression                gauge      routing (per partition)
contactcenter_contacts_arrived_total                   counter    log writer
contactcenter_contacts_answered_total                  counter    log writer
contactcenter_contacts_abandoned_total                 counter    log writer
contactcenter_contacts_completed_total                 counter    log writer
contactcenter_wait_seconds                             histogram  log writer (answered/abandoned)
contactcenter_handle_seconds                           histogram  log writer
contactcenter_service_level_ratio                      gauge      log writer (from PostgreSQL)
contactcenter_service_level_target_ratio               gauge      log writer (configuration)
contactcenter_service_level_threshold_seconds          gauge      log writer (configuration)
contactcenter_agent_occupancy_ratio                    gauge      log writer (from PostgreSQL)
contactcenter_events_in_total                          counter    every consumer (topic, consumer)
contactcenter_events_out_total                         counter    every producer (per topic)
contactcenter_dead_letters_total                       counter    whoever dead-letters an input
contactcenter_errors_total                             counter    every component
contactcenter_notices_total                            counter    notices / notifier
contactcenter_db_write_duration_seconds                histogram  every PostgreSQL batch writer
contactcenter_db_write_batch_size                      histogram  every PostgreSQL batch writer
contactcenter_db_write_failures_total                  counter    every PostgreSQL batch writer
contactcenter_db_up                                    gauge      every PostgreSQL batch writer
contactcenter_consumer_lag_messages                    gauge      every consumer
contactcenter_assigned_partitions                      gauge      workers (per consumed topic)
contactcenter_gateway_requests_total                   counter    gateway (per channel, outcome)
contactcenter_edge_retries_recognised_total            counter    gateway (records staged before)
contactcenter_edge_resent_total                        counter    gateway (re-sender published)
contactcenter_edge_outbox_pending                      gauge      gateway (staged, not published)
contactcenter_edge_outbox_oldest_pending_seconds       gauge      gateway
contactcenter_chat_sessions_refused_total              counter    gateway (per reason)
contactcenter_desk_connections                         gauge      agent desk (open offer streams)
contactcenter_control_actions_total                    counter    desk, admin CLI (admin changes,
                                                                  supervisor actions, by action)
contactcenter_guide_events_total                       counter    agent desk (guide, audit kind)
contactcenter_csat_surveys_total                       counter    desk, notifier (by outcome)
contactcenter_csat_answers_total                       counter    gateway, desk (answers)
contactcenter_csat_score_total                         counter    gateway, desk (sum of scores)
contactcenter_build_info                               gauge      set at import (version)
contactcenter_dependency_up                            gauge      every process (own probe)
contactcenter_ready                                    gauge      every process (own probe)
=====================================================  =========  ==============================

Names are stable: dashboards and alerts refer to them (deploy/grafana/dashboards).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# no ``_created`` series: they double the page and no dashboard uses them
disable_created_metrics()  # type: ignore[no-untyped-call]

PREFIX = "contactcenter_"

# Wait buckets include the usual service-level thresholds (10, 20, 30, 60 s), so
# "answered within Y s" is a bucket: histogram_quantile is not needed for service level.
WAIT_BUCKETS = (
    1.0,
    2.0,
    5.0,
    10.0,
    15.0,
    20.0,
    30.0,
    45.0,
    60.0,
    90.0,
    120.0,
    180.0,
    300.0,
    600.0,
    1200.0,
    1800.0,
    3600.0,
)
# Handle-time buckets fine enough for a p90 within a few seconds of the log's (10/30/60 s read
# 26 s for a true 14 s); short ones for compressed days and tests
HANDLE_BUCKETS = (
    1.0,
    2.0,
    5.0,
    10.0,
    15.0,
    20.0,
    30.0,
    45.0,
    60.0,
    90.0,
    120.0,
    180.0,
    240.0,
    300.0,
    450.0,
    600.0,
    900.0,
    1200.0,
    1800.0,
    3600.0,
)
DECISION_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
)
DB_WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)

# ---------------------------------------------------------------------------------------------
# Routing: queues, agents, offers, decisions
# ---------------------------------------------------------------------------------------------
QUEUE_DEPTH = Gauge(
    "contactcenter_queue_depth",
    "Contacts waiting in queue (not yet offered or assigned), by pool, class and channel.",
    ["pool", "customer_class", "channel"],
)
QUEUE_LONGEST_WAIT = Gauge(
    "contactcenter_queue_longest_wait_seconds",
    "Seconds the longest-waiting queued contact has waited, by pool, class and channel.",
    ["pool", "customer_class", "channel"],
)
PREDICTED_WAIT = Gauge(
    "contactcenter_predicted_wait_seconds",
    "Wait routing predicts for a contact arriving now, by pool, class and channel"
    " (+Inf: no ready agent serves the channel).",
    ["pool", "customer_class", "channel"],
)
AGENTS_ABLE = Gauge(
    "contactcenter_agents_able",
    "Ready agents able to take a contact of the channel now or once their own work on it"
    " ends (not held by other channels' work), by pool and channel.",
    ["pool", "channel"],
)
UNSERVABLE = Gauge(
    "contactcenter_unservable_contacts",
    "Waiting contacts no logged-in agent could take, by pool, channel and the requirement"
    " nobody meets.",
    ["pool", "channel", "requirement"],
)
AGENTS = Gauge(
    "contactcenter_agents",
    "Agents by pool and routing state (ready, not_ready, logged_out).",
    ["pool", "state"],
)
OFFERS = Counter(
    "contactcenter_offers_total",
    "Offers by outcome: made, accepted, rejected, expired, rescinded.",
    ["pool", "outcome"],
)
ROUTING_REDELIVERED_INPUTS = Counter(
    "contactcenter_routing_redelivered_inputs_total",
    "Routing inputs recognised by their event id as already applied (redelivered upstream),"
    " and skipped.",
    ["pool"],
)
ROUTING_OFFSET_REGRESSION = Gauge(
    "contactcenter_routing_offset_regression",
    "1 while routing of a partition is stopped because its log went backwards (inputs at or"
    " below the stored offset that routing never applied), 0 once a batch goes through.",
    ["partition"],
)
ROUTING_DECISION_DURATION = Histogram(
    "contactcenter_routing_decision_duration_seconds",
    "Wall-clock seconds the routing policy takes to handle one input (decision included).",
    buckets=DECISION_BUCKETS,
)

# ---------------------------------------------------------------------------------------------
# Contact outcomes, from the interaction log as it is written (each event counted once)
# ---------------------------------------------------------------------------------------------
CONTACTS_ARRIVED = Counter(
    "contactcenter_contacts_arrived_total",
    "Contacts queued for routing, by class and channel.",
    ["customer_class", "channel"],
)
CONTACTS_ANSWERED = Counter(
    "contactcenter_contacts_answered_total",
    "Contacts assigned to an agent (answered), by class and channel.",
    ["customer_class", "channel"],
)
CONTACTS_ABANDONED = Counter(
    "contactcenter_contacts_abandoned_total",
    "Contacts abandoned while waiting, by class and channel.",
    ["customer_class", "channel"],
)
CONTACTS_COMPLETED = Counter(
    "contactcenter_contacts_completed_total",
    "Contacts completed by an agent, by class and channel.",
    ["customer_class", "channel"],
)
WAIT = Histogram(
    "contactcenter_wait_seconds",
    "Seconds from arrival to answer (outcome=answered) or to abandonment (outcome=abandoned), "
    "by class and channel. Buckets include the service-level thresholds.",
    ["customer_class", "channel", "outcome"],
    buckets=WAIT_BUCKETS,
)
HANDLE = Histogram(
    "contactcenter_handle_seconds",
    "Handle time (answer to completion, wrap-up included) by class and channel.",
    ["customer_class", "channel"],
    buckets=HANDLE_BUCKETS,
)
SERVICE_LEVEL = Gauge(
    "contactcenter_service_level_ratio",
    "Service level over the reporting window, by class and channel: answered within the "
    "threshold / answered (variant=answered), or (answered within the threshold + abandoned "
    "within the threshold) / (answered + abandoned) (variant=abandons).",
    ["customer_class", "channel", "variant"],
)
SERVICE_LEVEL_TARGET = Gauge(
    "contactcenter_service_level_target_ratio",
    "Configured service-level target by class (e.g. 0.8 for 80/20).",
    ["customer_class"],
)
OCCUPANCY = Gauge(
    "contactcenter_agent_occupancy_ratio",
    "Agent occupancy over the reporting window, from the interaction log: time handling "
    "contacts / time staffed (ready or handling), by pool.",
    ["pool"],
)
SERVICE_LEVEL_THRESHOLD = Gauge(
    "contactcenter_service_level_threshold_seconds",
    "Configured service-level answer threshold Y (seconds).",
)

# ---------------------------------------------------------------------------------------------
# Pipeline: topics, dead letters, errors, PostgreSQL writes, consumer lag
# ---------------------------------------------------------------------------------------------
EVENTS_IN = Counter(
    "contactcenter_events_in_total",
    "Records consumed, by topic (name without the deployment prefix) and consumer (the agent "
    "or follower that read it: a record read by two consumers counts once for each).",
    ["topic", "consumer"],
)
EVENTS_OUT = Counter(
    "contactcenter_events_out_total",
    "Records produced, by topic (name without the deployment prefix).",
    ["topic"],
)
DEAD_LETTERS = Counter(
    "contactcenter_dead_letters_total",
    "Inputs sent to the dead-letter topic, by source topic and reason category "
    "(see dead_letter_reason()).",
    ["source_topic", "reason"],
)
ERRORS = Counter(
    "contactcenter_errors_total",
    "Unexpected errors handled without crashing, by component and kind.",
    ["component", "kind"],
)
GUIDE_EVENTS = Counter(
    "contactcenter_guide_events_total",
    "Audited facts of guides run on the desk, by guide and kind (step_started, "
    "step_completed, step_skipped, step_failed, note_added, guide_escalated, guide_resumed, "
    "guide_completed).",
    ["guide", "kind"],
)
CSAT_SURVEYS = Counter(
    "contactcenter_csat_surveys_total",
    "Satisfaction surveys by channel (sms, email, chat) and outcome (planned, sent, deferred, "
    "suppressed: no consent or opted out, failed).",
    ["channel", "outcome"],
)
CSAT_ANSWERS = Counter(
    "contactcenter_csat_answers_total",
    "Survey answers by customer class, the surveyed contact's channel (voice, sms, email, chat;"
    " not the survey's) and contact reason (the guide's, else none).",
    ["customer_class", "channel", "reason"],
)
CSAT_SCORE = Counter(
    "contactcenter_csat_score_total",
    "Sum of the survey scores (1-5), same labels as the answers: score / answers = mean CSAT.",
    ["customer_class", "channel", "reason"],
)
NOTICES = Counter(
    "contactcenter_notices_total",
    "Outbound notices by channel (sms, email, voice) and outcome (queued, sent, deferred, "
    "failed, suppressed, retried, uncertain: no answer after the request went out, unknown: an "
    "interrupted email left for an operator).",
    ["channel", "outcome"],
)
DB_WRITE_DURATION = Histogram(
    "contactcenter_db_write_duration_seconds",
    "Seconds one batched PostgreSQL write takes (one transaction), by writer.",
    ["writer"],
    buckets=DB_WRITE_BUCKETS,
)
DB_WRITE_BATCH_SIZE = Histogram(
    "contactcenter_db_write_batch_size",
    "Records per batched PostgreSQL write, by writer.",
    ["writer"],
    buckets=BATCH_SIZE_BUCKETS,
)
DB_WRITE_FAILURES = Counter(
    "contactcenter_db_write_failures_total",
    "Batched PostgreSQL writes that failed and will be retried, by writer.",
    ["writer"],
)
DB_UP = Gauge(
    "contactcenter_db_up",
    "1 when the writer's last PostgreSQL write succeeded, 0 while it is retrying.",
    ["writer"],
)
CONSUMER_LAG = Gauge(
    "contactcenter_consumer_lag_messages",
    "Records behind the end of the partition for this process's consumer.",
    ["topic", "partition"],
)
ASSIGNED_PARTITIONS = Gauge(
    "contactcenter_assigned_partitions",
    "Partitions of a topic this worker consumes now (0 until it has joined its group).",
    ["topic"],
)
BUILD_INFO = Gauge(
    "contactcenter_build_info",
    "Always 1; the version label tells which build runs.",
    ["version"],
)
GATEWAY_REQUESTS = Counter(
    "contactcenter_gateway_requests_total",
    "Inbound channel requests (webhooks, e-mails, chat messages) by channel (voice, sms, "
    "email, chat) and outcome (accepted, malformed, bad_signature, too_large, unauthorized, "
    "unavailable, error).",
    ["channel", "outcome"],
)
EDGE_RETRIES_RECOGNISED = Counter(
    "contactcenter_edge_retries_recognised_total",
    "Records a provider's retry (same MessageSid, CallSid, Message-ID or chat frame id) built "
    "again and the edge outbox already held: not published a second time.",
)
EDGE_RESENT = Counter(
    "contactcenter_edge_resent_total",
    "Records the gateway's re-sender published because their first attempt could not and no "
    "retry came for them.",
)
EDGE_OUTBOX_PENDING = Gauge(
    "contactcenter_edge_outbox_pending",
    "Records the gateway staged and the broker has not acknowledged yet.",
)
EDGE_OUTBOX_OLDEST_PENDING = Gauge(
    "contactcenter_edge_outbox_oldest_pending_seconds",
    "Age of the oldest record staged and not yet published (0 when none).",
)
CHAT_SESSIONS_REFUSED = Counter(
    "contactcenter_chat_sessions_refused_total",
    "Chat session requests refused, by reason (no_secret, unknown_secret, expired, "
    "bad_identity, identity_not_configured, bad_origin).",
    ["reason"],
)
CHAT_REFUSAL_REASONS = (
    "no_secret",
    "unknown_secret",
    "expired",
    "bad_identity",
    "identity_not_configured",
    "bad_origin",
)
DESK_CONNECTIONS = Gauge(
    "contactcenter_desk_connections",
    "Agents connected to this desk process's live offer stream.",
)
CONTROL_ACTIONS = Counter(
    "contactcenter_control_actions_total",
    "Admin changes and supervisor actions stored, audited and sent to routing, by action "
    "(agent.create, agent.update, token.issue, token.revoke, pool.policy, pool.wrapup_codes, "
    "pool.canned_replies, agent.force_state, contact.move, contact.offer, contact.end).",
    ["action"],
)
CONTROL_ACTION_NAMES = (
    "agent.create",
    "agent.update",
    "token.issue",
    "token.revoke",
    "pool.policy",
    "pool.wrapup_codes",
    "pool.canned_replies",
    "agent.force_state",
    "contact.move",
    "contact.offer",
    "contact.end",
)


# ---------------------------------------------------------------------------------------------
# Dependencies as each process sees them (streams/platform/readiness.py): ``up`` stays 1
# while the broker or PostgreSQL is away, so each process reports its own round trips
# ---------------------------------------------------------------------------------------------
DEPENDENCY_UP = Gauge(
    "contactcenter_dependency_up",
    "1 when the dependency (broker: a Metadata request; database: SELECT 1) answered this "
    "process's last probe within the readiness deadline, else 0.",
    ["dependency"],
)
READY = Gauge(
    "contactcenter_ready",
    "1 when this process's last readiness probe found every dependency answering (/readyz "
    "200), else 0.",
)


def _set_build_info() -> None:
    try:
        from importlib.metadata import version

        BUILD_INFO.labels(version=version("contactcenter")).set(1)
    except Exception:  # not installed as a distribution (e.g. running from a checkout)
        BUILD_INFO.labels(version="dev").set(1)


_set_build_info()

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
_REASON_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("empty", re.compile(r"^empty payload")),
    ("too_large", re.compile(r"exceeds")),
    ("not_json", re.compile(r"^not JSON|not a JSON object")),
    ("missing_type", re.compile(r"^missing 'type'")),
    ("unknown_type", re.compile(r"^unknown record type")),
    ("unsupported_version", re.compile(r"^unsupported schema_version")),
    ("invalid_record", re.compile(r"^invalid ")),
)


def dead_letter_reason(reason: str) -> str:
    """A bounded label value for a free-text dead-letter reason (``InvalidMessage.reason``)."""
    for category, pattern in _REASON_PATTERNS:
        if pattern.search(reason):
            return category
    return "processing_error"


DEAD_LETTER_REASONS = (*(category for category, _ in _REASON_PATTERNS), "processing_error")


def topic_label(full_name: str, prefix: str = "") -> str:
    """The topic name without the deployment prefix, for the ``topic`` label."""
    return full_name[len(prefix) :] if prefix and full_name.startswith(prefix) else full_name


def replace_gauge(gauge: Gauge, values: Mapping[tuple[str, ...], float]) -> None:
    """Make ``values`` (label values in the gauge's label order → value) the gauge's whole
    label set: set those, remove every other series (a pool or class without rows in the
    window no longer shows its last value)."""
    for labels, value in values.items():
        gauge.labels(*labels).set(value)
    for stale in set(label_sets(gauge)) - set(values):
        gauge.remove(*stale)


def label_sets(gauge: Gauge) -> list[tuple[str, ...]]:
    with gauge._lock:
        return [tuple(labels) for labels in gauge._metrics]
