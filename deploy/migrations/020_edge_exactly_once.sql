-- Exactly once at the edge (docs/security.md, "Retries and the outbox").
--
-- Every record the gateway publishes is staged here first, under its topic and event id, and
-- marked when the broker has acknowledged it. A provider's retry (the same MessageSid, CallSid,
-- Message-ID, chat frame id) stages nothing new and publishes what is still unpublished, in
-- order per key; a background re-sender publishes what no retry came for.
CREATE TABLE edge_outbox (
    seq           bigserial PRIMARY KEY,
    topic         text NOT NULL,
    record_key    text NOT NULL,
    event_id      text NOT NULL,
    record_type   text NOT NULL,
    payload       bytea NOT NULL,
    staged_at     timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz,
    UNIQUE (topic, event_id)
);
CREATE INDEX edge_outbox_pending ON edge_outbox (topic, record_key, seq) WHERE published_at IS NULL;
CREATE INDEX edge_outbox_published ON edge_outbox (published_at) WHERE published_at IS NOT NULL;

-- A survey answer remembers the SMS that gave it: the same webhook again is the same answer,
-- never a new contact.
ALTER TABLE csat_surveys ADD COLUMN answer_message_id text;
CREATE UNIQUE INDEX csat_surveys_answer_message ON csat_surveys (answer_message_id)
    WHERE answer_message_id IS NOT NULL;

-- Chat sessions: the browser holds the secret in an HttpOnly cookie; it rotates on every resume
-- (the previous one stays valid for a short grace, for a second tab), idle sessions expire, and
-- a known customer comes only from an identity the embedding site signed.
ALTER TABLE chat_sessions
    ADD COLUMN customer_id          text,
    ADD COLUMN previous_token_hash  text,
    ADD COLUMN rotated_at           timestamptz,
    ADD COLUMN last_seen_at         timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN revoked_at           timestamptz;
CREATE UNIQUE INDEX chat_sessions_previous ON chat_sessions (previous_token_hash)
    WHERE previous_token_hash IS NOT NULL;
-- Sessions made before: their chat id was the browser's word and their token sat in page
-- storage. They end here; a customer with an open chat starts a new session.
UPDATE chat_sessions SET revoked_at = now();
