-- The interaction log: every event as it happened (append-only, keyed by event id), the
-- lifecycle of each contact projected from those events, routing decisions with their
-- explanation, agent state history; and the standard contact-center metrics as views.
--
-- Written by streams/log_writer.py. Every write is idempotent: an event id already in
-- interaction_events is skipped, and only newly inserted events change the projections.

-- Every record seen on the contacts, agent-events, interactions and dead-letter topics.
CREATE TABLE interaction_events (
    event_id     text PRIMARY KEY,
    type         text NOT NULL,
    topic        text NOT NULL,
    partition    integer NOT NULL,
    "offset"     bigint NOT NULL,
    pool_id      text,
    contact_id   text,
    agent_id     text,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    payload      jsonb NOT NULL
);
CREATE INDEX interaction_events_contact ON interaction_events (contact_id, occurred_at)
    WHERE contact_id IS NOT NULL;
CREATE INDEX interaction_events_agent ON interaction_events (agent_id, occurred_at)
    WHERE agent_id IS NOT NULL;
CREATE INDEX interaction_events_type_time ON interaction_events (type, occurred_at);

-- One row per contact: its lifecycle. Columns are filled by whichever event arrives first
-- (events of one contact come from several topics, so their order is not guaranteed);
-- every update is order-insensitive (LEAST, COALESCE, counters of new events only).
CREATE TABLE contacts (
    contact_id          text PRIMARY KEY,
    pool_id             text NOT NULL,
    channel             text,
    customer_class      text,
    customer_key        text,          -- customer id, else phone, e-mail or chat id
    subject             text,
    arrived_at          timestamptz,   -- when the contact arrived at the gateway
    queued_at           timestamptz,   -- when routing queued it
    first_offered_at    timestamptz,
    answered_at         timestamptz,   -- assigned to an agent (offer accepted)
    agent_id            text,
    completed_at        timestamptz,   -- released by the agent (wrap-up done)
    abandoned_at        timestamptz,   -- removed from the queue because the customer gave up
    ended_at            timestamptz,   -- the customer side ended (hung up, closed)
    removed_reason      text,          -- why routing removed it from the queue
    wait_seconds        double precision,  -- arrival to answer, or to abandonment
    handle_seconds      double precision,  -- answer to completion, wrap-up included
    disposition         text,
    offers              integer NOT NULL DEFAULT 0,
    rejections          integer NOT NULL DEFAULT 0,
    expirations         integer NOT NULL DEFAULT 0,
    requeues            integer NOT NULL DEFAULT 0,
    callback_requested  boolean NOT NULL DEFAULT false,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    status              text GENERATED ALWAYS AS (
        CASE
            WHEN completed_at IS NOT NULL THEN 'completed'
            WHEN abandoned_at IS NOT NULL THEN 'abandoned'
            WHEN removed_reason IS NOT NULL THEN 'removed'
            WHEN answered_at IS NOT NULL THEN 'assigned'
            WHEN first_offered_at IS NOT NULL THEN 'offered'
            WHEN queued_at IS NOT NULL THEN 'queued'
            ELSE 'arrived'
        END
    ) STORED
);
CREATE INDEX contacts_arrived ON contacts (arrived_at);
CREATE INDEX contacts_customer ON contacts (customer_key, arrived_at)
    WHERE customer_key IS NOT NULL;
CREATE INDEX contacts_agent ON contacts (agent_id, answered_at) WHERE agent_id IS NOT NULL;

-- One row per offer: who was chosen, why (the policy's explanation), and how it ended.
CREATE TABLE routing_decisions (
    event_id     text PRIMARY KEY,    -- the OfferMade event id
    offer_id     text NOT NULL,
    pool_id      text NOT NULL,
    contact_id   text NOT NULL,
    agent_id     text NOT NULL,
    attempt      integer NOT NULL,
    decided_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    explanation  jsonb NOT NULL DEFAULT '{}'::jsonb,
    outcome      text,                -- accepted, declined, expired, rescinded; NULL = open
    outcome_at   timestamptz
);
CREATE INDEX routing_decisions_offer ON routing_decisions (offer_id);
CREATE INDEX routing_decisions_contact ON routing_decisions (contact_id);
CREATE INDEX routing_decisions_time ON routing_decisions (decided_at);

-- Every agent state change decided by routing (logged_out, not_ready, ready, ...).
CREATE TABLE agent_state_history (
    event_id    text PRIMARY KEY,
    agent_id    text NOT NULL,
    pool_id     text NOT NULL,
    state       text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    changed_at  timestamptz NOT NULL
);
CREATE INDEX agent_state_history_agent ON agent_state_history (agent_id, changed_at);

-- Service-level threshold (Y seconds) and target per customer class; '*' is the default.
CREATE TABLE service_level_targets (
    customer_class     text PRIMARY KEY,
    threshold_seconds  double precision NOT NULL CHECK (threshold_seconds > 0),
    target_ratio       double precision NOT NULL CHECK (target_ratio BETWEEN 0 AND 1)
);
INSERT INTO service_level_targets VALUES ('*', 20, 0.8), ('vip', 20, 0.9);

-- ------------------------------------------------------------------------------------------
-- Standard metrics. Contacts are counted in the 15-minute interval in which they arrived.
-- ------------------------------------------------------------------------------------------

-- Each contact with its class's service-level threshold and whether it is a repeat (the same
-- customer contacted us, on any channel, in the 24 hours before).
CREATE VIEW contact_facts AS
SELECT
    c.*,
    coalesce(c.arrived_at, c.queued_at) AS arrival,
    date_bin('15 minutes', coalesce(c.arrived_at, c.queued_at), timestamptz '2000-01-01')
        AS interval_start,
    coalesce(t.threshold_seconds, d.threshold_seconds) AS threshold_seconds,
    coalesce(t.target_ratio, d.target_ratio) AS target_ratio,
    (c.customer_key IS NOT NULL AND EXISTS (
        SELECT 1 FROM contacts p
        WHERE p.customer_key = c.customer_key
          AND p.contact_id <> c.contact_id
          AND coalesce(p.arrived_at, p.queued_at)
              >= coalesce(c.arrived_at, c.queued_at) - interval '24 hours'
          AND coalesce(p.arrived_at, p.queued_at) < coalesce(c.arrived_at, c.queued_at)
    )) AS is_repeat
FROM contacts c
LEFT JOIN service_level_targets t ON t.customer_class = c.customer_class
CROSS JOIN (SELECT threshold_seconds, target_ratio FROM service_level_targets
            WHERE customer_class = '*') d
WHERE coalesce(c.arrived_at, c.queued_at) IS NOT NULL;

-- Per interval, pool, class and channel:
--   service_level            = answered within Y s / answered
--   service_level_abandons   = (answered within Y s + abandoned within Y s)
--                              / (answered + abandoned)   -- short abandons count as met
--   asa_seconds              = average wait of answered contacts
--   abandonment_rate         = abandoned / (answered + abandoned)
--   aht_seconds              = average handle time of completed contacts
--   repeat_contact_rate      = contacts whose customer contacted us in the 24 h before / all
CREATE VIEW contact_metrics_15m AS
SELECT
    interval_start,
    pool_id,
    coalesce(customer_class, 'unknown') AS customer_class,
    coalesce(channel, 'unknown') AS channel,
    min(threshold_seconds) AS threshold_seconds,
    min(target_ratio) AS target_ratio,
    count(*) AS offered,
    count(*) FILTER (WHERE answered_at IS NOT NULL) AS answered,
    count(*) FILTER (WHERE answered_at IS NOT NULL AND wait_seconds <= threshold_seconds)
        AS answered_within_threshold,
    count(*) FILTER (WHERE abandoned_at IS NOT NULL) AS abandoned,
    count(*) FILTER (WHERE abandoned_at IS NOT NULL AND wait_seconds <= threshold_seconds)
        AS abandoned_within_threshold,
    count(*) FILTER (WHERE completed_at IS NOT NULL) AS completed,
    count(*) FILTER (WHERE is_repeat) AS repeat_contacts,
    (count(*) FILTER (WHERE answered_at IS NOT NULL AND wait_seconds <= threshold_seconds))::float8
        / nullif(count(*) FILTER (WHERE answered_at IS NOT NULL), 0) AS service_level,
    (count(*) FILTER (WHERE (answered_at IS NOT NULL OR abandoned_at IS NOT NULL)
                        AND wait_seconds <= threshold_seconds))::float8
        / nullif(count(*) FILTER (WHERE answered_at IS NOT NULL OR abandoned_at IS NOT NULL), 0)
        AS service_level_abandons,
    avg(wait_seconds) FILTER (WHERE answered_at IS NOT NULL) AS asa_seconds,
    (count(*) FILTER (WHERE abandoned_at IS NOT NULL))::float8
        / nullif(count(*) FILTER (WHERE answered_at IS NOT NULL OR abandoned_at IS NOT NULL), 0)
        AS abandonment_rate,
    avg(handle_seconds) FILTER (WHERE completed_at IS NOT NULL) AS aht_seconds,
    (count(*) FILTER (WHERE is_repeat))::float8 / count(*) AS repeat_contact_rate
FROM contact_facts
GROUP BY interval_start, pool_id, coalesce(customer_class, 'unknown'), coalesce(channel, 'unknown');

-- Occupancy per interval and pool = time agents spent handling contacts (the union of their
-- answered → completed spans, so concurrent chats count once) / time they were staffed
-- (ready, or handling). An agent's last state lasts until now.
CREATE VIEW agent_occupancy_15m AS
WITH segments AS (
    SELECT agent_id, pool_id, state,
           tstzrange(changed_at,
                     coalesce(lead(changed_at) OVER (PARTITION BY agent_id ORDER BY changed_at,
                                                     event_id),
                              greatest(now(), changed_at)), '[)') AS span
    FROM agent_state_history
),
handling AS (
    SELECT agent_id, min(pool_id) AS pool_id,
           range_agg(tstzrange(answered_at, greatest(answered_at,
                     coalesce(completed_at, now())), '[)')) AS busy
    FROM contacts
    WHERE agent_id IS NOT NULL AND answered_at IS NOT NULL
    GROUP BY agent_id
),
ready AS (
    SELECT agent_id, min(pool_id) AS pool_id, range_agg(span) AS staffed
    FROM segments WHERE state = 'ready' AND NOT isempty(span)
    GROUP BY agent_id
),
per_agent AS (
    SELECT coalesce(r.agent_id, h.agent_id) AS agent_id,
           coalesce(r.pool_id, h.pool_id) AS pool_id,
           coalesce(h.busy, '{}'::tstzmultirange) AS busy,
           coalesce(r.staffed, '{}'::tstzmultirange) + coalesce(h.busy, '{}'::tstzmultirange)
               AS staffed
    FROM ready r FULL JOIN handling h ON h.agent_id = r.agent_id
),
intervals AS (
    SELECT a.agent_id, a.pool_id, a.busy, a.staffed, i AS interval_start,
           tstzrange(i, i + interval '15 minutes', '[)') AS span_window
    FROM per_agent a,
         generate_series(date_bin('15 minutes', lower(a.staffed), timestamptz '2000-01-01'),
                         upper(a.staffed), interval '15 minutes') AS i
    WHERE NOT isempty(a.staffed)
),
measured AS (
    SELECT interval_start, pool_id, agent_id,
           (SELECT coalesce(sum(extract(epoch FROM upper(r) - lower(r))), 0)
              FROM unnest(busy * multirange(span_window)) r) AS busy_seconds,
           (SELECT coalesce(sum(extract(epoch FROM upper(r) - lower(r))), 0)
              FROM unnest(staffed * multirange(span_window)) r) AS staffed_seconds
    FROM intervals
)
SELECT interval_start, pool_id,
       count(DISTINCT agent_id) FILTER (WHERE staffed_seconds > 0) AS agents,
       sum(busy_seconds)::float8 AS busy_seconds,
       sum(staffed_seconds)::float8 AS staffed_seconds,
       sum(busy_seconds)::float8 / nullif(sum(staffed_seconds), 0) AS occupancy
FROM measured
GROUP BY interval_start, pool_id;
