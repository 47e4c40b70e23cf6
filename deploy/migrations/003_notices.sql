-- Proactive notices: delay episodes per shipment, notices (one per idempotency key) and every
-- send attempt, flags for the agent's screen pop, and an outbox for records to publish.

-- The delay-episode state of one shipment (streams.notices.delays.ShipmentState as JSON).
CREATE TABLE shipment_delays (
    shipment_id text PRIMARY KEY,
    customer_id text NOT NULL,
    order_id    text NOT NULL,
    episode     integer NOT NULL DEFAULT 0,
    open        boolean NOT NULL DEFAULT false,
    state       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shipment_delays_customer ON shipment_delays (customer_id);

-- status: deferred | pending (due at not_before) | sending (claimed, provider call under way)
--         | sent | delivered | undelivered | failed | suppressed | unknown
CREATE TABLE notices (
    notice_id       text PRIMARY KEY,  -- idempotency key: shipment + episode + level + channel
    reference       text NOT NULL,     -- short code written into the message
    kind            text NOT NULL DEFAULT 'shipment_delay',
    customer_id     text NOT NULL,
    shipment_id     text,
    order_id        text,
    episode         integer NOT NULL,
    level           integer NOT NULL DEFAULT 1,
    channel         text NOT NULL CHECK (channel IN ('sms', 'email', 'none')),
    address         text,
    subject         text NOT NULL,
    body_text       text NOT NULL,
    delay_hours     double precision,
    compensation    jsonb,
    status          text NOT NULL CHECK (status IN ('deferred', 'pending', 'sending', 'sent',
                        'delivered', 'undelivered', 'failed', 'suppressed', 'unknown')),
    not_before      timestamptz NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    claimed_at      timestamptz,
    claimed_by      text,
    provider_id     text,              -- Twilio message SID, or the email Message-ID
    provider_status text,
    error_code      text,
    error           text,
    sent_at         timestamptz,
    cause_event_id  text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notices_due ON notices (next_attempt_at)
    WHERE status IN ('deferred', 'pending', 'sending');
CREATE INDEX notices_customer ON notices (customer_id, sent_at);
CREATE UNIQUE INDEX notices_provider_id ON notices (provider_id) WHERE provider_id IS NOT NULL;

-- Every attempt, with its outcome: sent | transient | permanent | reconciled | status.
CREATE TABLE notice_attempts (
    attempt_id   bigserial PRIMARY KEY,
    notice_id    text NOT NULL REFERENCES notices (notice_id),
    attempt      integer NOT NULL,
    outcome      text NOT NULL,
    provider_id  text,
    error_code   text,
    error        text,
    detail       jsonb,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
CREATE INDEX notice_attempts_notice ON notice_attempts (notice_id, attempt);

-- What the next agent's screen pop shows about the customer (open until resolved).
CREATE TABLE customer_flags (
    customer_id   text NOT NULL,
    flag_id       text NOT NULL,      -- e.g. shipment_delay:<shipment id>
    kind          text NOT NULL,
    text          text NOT NULL,
    compensation  jsonb,
    shipment_id   text,
    episode       integer,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at   timestamptz,
    PRIMARY KEY (customer_id, flag_id)
);
CREATE INDEX customer_flags_open ON customer_flags (customer_id) WHERE resolved_at IS NULL;

-- Records decided in a transaction, published after it commits (and again after a crash).
CREATE TABLE notice_outbox (
    event_id     text PRIMARY KEY,
    topic        text NOT NULL,
    key          bytea,
    payload      bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX notice_outbox_unpublished ON notice_outbox (created_at) WHERE published_at IS NULL;
