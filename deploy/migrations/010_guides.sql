-- Guides on the desk (docs/guides.md): the run of a guide on each contact, every step of it
-- audited, the customer data a step may show (balances), and the satisfaction survey after it.

-- One run per contact: where the agent is, what was recorded (state, the engine's own JSON),
-- which required steps the path taken still needs (a branch may leave some out).
CREATE TABLE guide_runs (
    contact_id      text PRIMARY KEY,
    guide_id        text NOT NULL,
    version         integer NOT NULL,
    pool_id         text NOT NULL,
    status          text NOT NULL,             -- active, escalated, completed
    current_step    text,
    seq             integer NOT NULL,          -- the last audit event's place in the run
    required_steps  text[] NOT NULL,
    bypassed_steps  text[] NOT NULL DEFAULT '{}',
    state           jsonb NOT NULL,
    started_at      timestamptz NOT NULL,
    completed_at    timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Every step started, completed, skipped (with its reason) or failed; notes, escalations,
-- completion. Append-only; published on the guide-events topic (published_at NULL: not yet).
CREATE TABLE guide_audit (
    event_id      text PRIMARY KEY,
    contact_id    text NOT NULL,
    guide_id      text NOT NULL,
    version       integer NOT NULL,
    seq           integer NOT NULL,
    kind          text NOT NULL,
    step_id       text,
    value         text,
    reason        text NOT NULL DEFAULT '',
    agent_id      text,
    occurred_at   timestamptz NOT NULL,
    published_at  timestamptz,
    UNIQUE (contact_id, seq)
);
CREATE INDEX guide_audit_step ON guide_audit (guide_id, step_id, kind);

-- Balances a guide step may show (filled by the billing system).
CREATE TABLE customer_balances (
    customer_id   text NOT NULL,
    account       text NOT NULL,
    balance       numeric(14, 2) NOT NULL,
    currency      text NOT NULL DEFAULT 'EUR',
    overdue_days  integer NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, account)
);

-- Compliance: contacts completed with a required step not run (must stay empty).
CREATE VIEW guide_completed_missing_required AS
SELECT r.contact_id, r.guide_id, r.version, s.step_id AS missing_step,
       coalesce(r.completed_at, c.completed_at) AS completed_at
FROM guide_runs r
LEFT JOIN contacts c ON c.contact_id = r.contact_id
CROSS JOIN LATERAL unnest(r.required_steps) AS s(step_id)
WHERE (r.completed_at IS NOT NULL OR c.completed_at IS NOT NULL)
  AND NOT (s.step_id = ANY (r.bypassed_steps))
  AND NOT EXISTS (
      SELECT 1 FROM guide_audit a
      WHERE a.contact_id = r.contact_id AND a.step_id = s.step_id
        AND a.kind IN ('step_completed', 'step_failed'));

-- Time per step per guide: from a step's start to its completion, failure or skip.
CREATE VIEW guide_step_times AS
WITH spans AS (
    SELECT a.guide_id, a.step_id,
           extract(epoch FROM (
               SELECT min(e.occurred_at) FROM guide_audit e
               WHERE e.contact_id = a.contact_id AND e.step_id = a.step_id AND e.seq > a.seq
                 AND e.kind IN ('step_completed', 'step_failed', 'step_skipped')
           ) - a.occurred_at) AS seconds
    FROM guide_audit a
    WHERE a.kind = 'step_started'
)
SELECT guide_id, step_id, count(*) AS runs,
       avg(seconds) AS avg_seconds,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median_seconds,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds) AS p90_seconds
FROM spans WHERE seconds IS NOT NULL
GROUP BY guide_id, step_id;

-- The satisfaction survey after a contact: at most one per contact (the primary key).
CREATE TABLE csat_surveys (
    contact_id      text PRIMARY KEY,
    channel         text NOT NULL,
    address         text NOT NULL,
    customer_id     text,
    customer_class  text NOT NULL,
    agent_id        text NOT NULL,
    reason          text NOT NULL,             -- the guide's reason, else 'none'
    status          text NOT NULL,             -- pending, sent, answered, suppressed, failed
    status_reason   text NOT NULL DEFAULT '',
    answer_token    text NOT NULL,             -- in the e-mail and chat link
    attempts        integer NOT NULL DEFAULT 0,
    not_before      timestamptz NOT NULL,      -- quiet hours defer the send
    sent_at         timestamptz,
    score           smallint CHECK (score BETWEEN 1 AND 5),
    comment         text,
    answered_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX csat_surveys_due ON csat_surveys (not_before) WHERE status = 'pending';
CREATE INDEX csat_surveys_address ON csat_surveys (address, sent_at) WHERE status = 'sent';

-- CSAT per agent (agent ids are not metric labels) and the response rate per channel.
CREATE VIEW csat_by_agent AS
SELECT agent_id, count(*) FILTER (WHERE status = 'answered') AS answers,
       avg(score) AS mean_score,
       count(*) FILTER (WHERE status = 'answered')::double precision
           / nullif(count(*) FILTER (WHERE status IN ('sent', 'answered')), 0) AS response_rate
FROM csat_surveys GROUP BY agent_id;
