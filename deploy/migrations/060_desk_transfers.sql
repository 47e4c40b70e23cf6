-- A transfer's note for the next agent (shown with the offer's screen pop), and the consults
-- between agents of a pool (a question and its answer; never part of the customer's thread).
CREATE TABLE IF NOT EXISTS desk_transfers (
    event_id      text PRIMARY KEY,
    contact_id    text NOT NULL,
    pool_id       text NOT NULL,
    from_agent_id text NOT NULL,
    to_agent_id   text,
    to_skill      text,
    note          text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS desk_transfers_contact ON desk_transfers (contact_id, created_at);

CREATE TABLE IF NOT EXISTS desk_consults (
    consult_id    text PRIMARY KEY,
    pool_id       text NOT NULL,
    from_agent_id text NOT NULL,
    to_agent_id   text NOT NULL,
    contact_id    text,
    reply_to      text REFERENCES desk_consults (consult_id),
    note          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
