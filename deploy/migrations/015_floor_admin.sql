-- The floor without SQL: roles on the people who sign in, agents' profiles managed through the
-- admin API, each pool's policy, wrap-up codes and canned replies, and the audit of every change.
-- Routing keeps its own copy of a pool's policy with its state (routing_pools.policy), written
-- in the batch that applied the change, so a restored or replayed pool routes as it did.

ALTER TABLE agents
    ADD COLUMN role text NOT NULL DEFAULT 'agent' CHECK (role IN ('agent', 'supervisor', 'admin')),
    ADD COLUMN enabled boolean NOT NULL DEFAULT true,
    ADD COLUMN language text,
    ADD COLUMN capacity jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN supervised_pools text[] NOT NULL DEFAULT '{}',
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

CREATE TABLE admin_pools (
    pool_id        text PRIMARY KEY,
    policy         jsonb NOT NULL DEFAULT '{}'::jsonb,
    wrapup_codes   text[] NOT NULL DEFAULT '{}',
    canned_replies text[] NOT NULL DEFAULT '{}',
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- One row per change: who, when, what, the subject's state before and after (never a token).
CREATE TABLE admin_audit (
    audit_id     bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor_id     text NOT NULL,
    action       text NOT NULL,
    subject_kind text NOT NULL,
    subject_id   text NOT NULL,
    pool_id      text,
    reason       text NOT NULL DEFAULT '',
    before       jsonb,
    after        jsonb
);
CREATE INDEX admin_audit_subject ON admin_audit (subject_kind, subject_id, at);
CREATE INDEX admin_audit_at ON admin_audit (at);

-- where the contacts a supervisor moved away went (contact id → [pool, pool time]): the
-- customer's side of them still names this pool and is forwarded there
ALTER TABLE routing_pools ADD COLUMN policy jsonb, ADD COLUMN moved jsonb;
