"""The interaction log's SQL: the statement path and the COPY path write the same rows."""

from __future__ import annotations

SERVICE_LEVEL_WINDOW = "1 hour"  # the window of the live service-level and occupancy gauges

INSERT_EVENTS = """
INSERT INTO interaction_events
    (event_id, type, topic, partition, "offset", pool_id, contact_id, agent_id, occurred_at,
     payload)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::text[],
                     $7::text[], $8::text[], $9::timestamptz[], $10::jsonb[])
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""

EVENT_COLUMNS = (
    "event_id",
    "type",
    "topic",
    "partition",
    "offset",
    "pool_id",
    "contact_id",
    "agent_id",
    "occurred_at",
    "payload",
)
PATCH_COLUMNS = (
    "contact_id",
    "pool_id",
    "channel",
    "queue_class",
    "arrival_class",
    "customer_key",
    "subject",
    "arrived_at",
    "queued_at",
    "first_offered_at",
    "answered_at",
    "agent_id",
    "completed_at",
    "abandoned_at",
    "ended_at",
    "removed_reason",
    "wait_seconds",
    "handle_seconds",
    "disposition",
    "offers",
    "rejections",
    "expirations",
    "requeues",
    "callback_requested",
    "rescinds",
)
DECISION_COLUMNS = (
    "event_id",
    "offer_id",
    "pool_id",
    "contact_id",
    "agent_id",
    "attempt",
    "decided_at",
    "expires_at",
    "explanation",
)
AGENT_STATE_COLUMNS = ("event_id", "agent_id", "pool_id", "state", "reason", "changed_at")

# Staging tables of the COPY path: private to the connection, emptied at every commit.
STAGING = """
CREATE TEMP TABLE IF NOT EXISTS events_in
    (LIKE interaction_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS decisions_in
    (LIKE routing_decisions INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS agent_states_in
    (LIKE agent_state_history INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS patches_in (
    contact_id text, pool_id text, channel text, queue_class text, arrival_class text,
    customer_key text, subject text, arrived_at timestamptz, queued_at timestamptz,
    first_offered_at timestamptz, answered_at timestamptz, agent_id text,
    completed_at timestamptz, abandoned_at timestamptz, ended_at timestamptz,
    removed_reason text, wait_seconds double precision, handle_seconds double precision,
    disposition text, offers integer, rejections integer, expirations integer, requeues integer,
    callback_requested boolean, rescinds integer
) ON COMMIT DELETE ROWS;
"""

_EVENT_LIST = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)
INSERT_STAGED_EVENTS = f"""
INSERT INTO interaction_events ({_EVENT_LIST})
SELECT {_EVENT_LIST} FROM events_in
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""

# New contacts take the merged patch whole; existing ones (another batch, another writer)
# are updated with the same order-insensitive rules as UPSERT_CONTACT.
INSERT_STAGED_CONTACTS = """
INSERT INTO contacts
    (contact_id, pool_id, channel, customer_class, customer_key, subject, arrived_at, queued_at,
     first_offered_at, answered_at, agent_id, completed_at, abandoned_at, ended_at,
     removed_reason, wait_seconds, handle_seconds, disposition, offers, rejections, expirations,
     requeues, callback_requested, rescinds)
SELECT contact_id, pool_id, channel, coalesce(queue_class, arrival_class), customer_key, subject,
       arrived_at, queued_at, first_offered_at, answered_at, agent_id, completed_at,
       abandoned_at, ended_at, removed_reason, wait_seconds, handle_seconds, disposition, offers,
       rejections, expirations, requeues, callback_requested, rescinds
FROM patches_in
ON CONFLICT (contact_id) DO NOTHING
RETURNING contact_id
"""

UPDATE_STAGED_CONTACTS = """
UPDATE contacts AS c SET
    channel = coalesce(c.channel, p.channel),
    customer_class = coalesce(p.queue_class, c.customer_class, p.arrival_class),
    customer_key = coalesce(c.customer_key, p.customer_key),
    subject = coalesce(c.subject, p.subject),
    arrived_at = least(c.arrived_at, p.arrived_at),
    queued_at = least(c.queued_at, p.queued_at),
    first_offered_at = least(c.first_offered_at, p.first_offered_at),
    answered_at = least(c.answered_at, p.answered_at),
    agent_id = coalesce(c.agent_id, p.agent_id),
    completed_at = least(c.completed_at, p.completed_at),
    abandoned_at = least(c.abandoned_at, p.abandoned_at),
    ended_at = least(c.ended_at, p.ended_at),
    removed_reason = coalesce(c.removed_reason, p.removed_reason),
    wait_seconds = coalesce(c.wait_seconds, p.wait_seconds),
    handle_seconds = coalesce(c.handle_seconds, p.handle_seconds),
    disposition = coalesce(c.disposition, p.disposition),
    offers = c.offers + p.offers,
    rejections = c.rejections + p.rejections,
    expirations = c.expirations + p.expirations,
    requeues = c.requeues + p.requeues,
    callback_requested = c.callback_requested OR p.callback_requested,
    rescinds = c.rescinds + p.rescinds,
    updated_at = now()
FROM patches_in AS p
WHERE c.contact_id = p.contact_id AND p.contact_id <> ALL($1::text[])
"""

INSERT_STAGED_DECISIONS = f"""
INSERT INTO routing_decisions ({", ".join(DECISION_COLUMNS)})
SELECT {", ".join(DECISION_COLUMNS)} FROM decisions_in
ON CONFLICT (event_id) DO NOTHING
"""

INSERT_STAGED_AGENT_STATES = f"""
INSERT INTO agent_state_history ({", ".join(AGENT_STATE_COLUMNS)})
SELECT {", ".join(AGENT_STATE_COLUMNS)} FROM agent_states_in
ON CONFLICT (event_id) DO NOTHING
"""

UPSERT_CONTACT = """
INSERT INTO contacts AS c
    (contact_id, pool_id, channel, customer_class, customer_key, subject, arrived_at, queued_at,
     first_offered_at, answered_at, agent_id, completed_at, abandoned_at, ended_at,
     removed_reason, wait_seconds, handle_seconds, disposition, offers, rejections, expirations,
     requeues, callback_requested, rescinds)
VALUES ($1, $2, $3, coalesce($4::text, $5::text), $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
        $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)
ON CONFLICT (contact_id) DO UPDATE SET
    channel = coalesce(c.channel, EXCLUDED.channel),
    customer_class = coalesce($4::text, c.customer_class, $5::text),
    customer_key = coalesce(c.customer_key, EXCLUDED.customer_key),
    subject = coalesce(c.subject, EXCLUDED.subject),
    arrived_at = least(c.arrived_at, EXCLUDED.arrived_at),
    queued_at = least(c.queued_at, EXCLUDED.queued_at),
    first_offered_at = least(c.first_offered_at, EXCLUDED.first_offered_at),
    answered_at = least(c.answered_at, EXCLUDED.answered_at),
    agent_id = coalesce(c.agent_id, EXCLUDED.agent_id),
    completed_at = least(c.completed_at, EXCLUDED.completed_at),
    abandoned_at = least(c.abandoned_at, EXCLUDED.abandoned_at),
    ended_at = least(c.ended_at, EXCLUDED.ended_at),
    removed_reason = coalesce(c.removed_reason, EXCLUDED.removed_reason),
    wait_seconds = coalesce(c.wait_seconds, EXCLUDED.wait_seconds),
    handle_seconds = coalesce(c.handle_seconds, EXCLUDED.handle_seconds),
    disposition = coalesce(c.disposition, EXCLUDED.disposition),
    offers = c.offers + EXCLUDED.offers,
    rejections = c.rejections + EXCLUDED.rejections,
    expirations = c.expirations + EXCLUDED.expirations,
    requeues = c.requeues + EXCLUDED.requeues,
    callback_requested = c.callback_requested OR EXCLUDED.callback_requested,
    rescinds = c.rescinds + EXCLUDED.rescinds,
    updated_at = now()
"""

INSERT_DECISION = """
INSERT INTO routing_decisions
    (event_id, offer_id, pool_id, contact_id, agent_id, attempt, decided_at, expires_at,
     explanation)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
ON CONFLICT (event_id) DO NOTHING
"""

CLOSE_DECISION = """
UPDATE routing_decisions SET outcome = $2, outcome_at = $3
WHERE offer_id = $1 AND outcome IS NULL
"""

# An outcome logged before its offer (another batch, another order) closes it on insert.
CLOSE_NEW_DECISIONS = """
UPDATE routing_decisions d
SET outcome = CASE e.type WHEN 'contact_assigned' THEN 'accepted'
                          WHEN 'offer_declined' THEN 'declined'
                          WHEN 'offer_expired' THEN 'expired'
                          ELSE 'rescinded' END,
    outcome_at = e.occurred_at
FROM interaction_events e
WHERE d.event_id = ANY($1::text[]) AND d.outcome IS NULL
  AND e.contact_id = d.contact_id
  AND e.type IN ('contact_assigned', 'offer_declined', 'offer_expired', 'offer_rescinded')
  AND e.payload->>'offer_id' = d.offer_id
"""

INSERT_AGENT_STATE = """
INSERT INTO agent_state_history (event_id, agent_id, pool_id, state, reason, changed_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (event_id) DO NOTHING
"""

CONTACT_LABELS = """
SELECT contact_id, coalesce(customer_class, 'unknown') AS customer_class,
       coalesce(channel, 'unknown') AS channel
FROM contacts WHERE contact_id = ANY($1::text[])
"""

SERVICE_LEVEL_NOW = f"""
SELECT customer_class, channel,
       sum(answered_within_threshold)::float8 / nullif(sum(answered), 0) AS answered,
       (sum(answered_within_threshold) + sum(abandoned_within_threshold))::float8
           / nullif(sum(answered) + sum(abandoned), 0) AS abandons
FROM contact_metrics_15m
WHERE interval_start >= now() - interval '{SERVICE_LEVEL_WINDOW}'
GROUP BY customer_class, channel
"""

OCCUPANCY_NOW = f"""
SELECT pool_id, sum(busy_seconds) / nullif(sum(staffed_seconds), 0) AS occupancy
FROM agent_occupancy_15m
WHERE interval_start >= now() - interval '{SERVICE_LEVEL_WINDOW}'
GROUP BY pool_id
"""

SERVICE_LEVEL_CONFIG = (
    "SELECT customer_class, threshold_seconds, target_ratio FROM service_level_targets"
)
