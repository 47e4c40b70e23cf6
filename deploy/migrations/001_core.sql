-- Customers and agents, and the routing state with the input offsets it reflects.

CREATE TABLE customers (
    customer_id       text PRIMARY KEY,
    name              text,
    tier              text NOT NULL DEFAULT 'standard',
    phone             text UNIQUE,
    email             text UNIQUE,
    chat_id           text UNIQUE,
    language          text NOT NULL DEFAULT 'en',
    time_zone         text NOT NULL DEFAULT 'UTC',
    preferred_channel text NOT NULL DEFAULT 'sms' CHECK (preferred_channel IN ('sms', 'email')),
    sms_consent       boolean NOT NULL DEFAULT true,
    email_consent     boolean NOT NULL DEFAULT true,
    last_agent_id     text,
    last_agent_at     timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agents (
    agent_id   text PRIMARY KEY,
    pool_id    text NOT NULL,
    name       text,
    skills     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Per input partition of the routing topic: the last offset whose effects are stored below.
CREATE TABLE routing_offsets (
    topic      text NOT NULL,
    partition  integer NOT NULL,
    "offset"   bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition)
);

CREATE TABLE routing_pools (
    pool_id    text PRIMARY KEY,
    topic      text NOT NULL,
    partition  integer NOT NULL,
    clock      double precision NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX routing_pools_partition ON routing_pools (topic, partition);

-- The live queue: waiting, offered, assigned and wrapping-up contacts.
CREATE TABLE routing_contacts (
    pool_id    text NOT NULL REFERENCES routing_pools (pool_id),
    contact_id text NOT NULL,
    status     text NOT NULL,
    state      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pool_id, contact_id)
);

CREATE TABLE routing_agents (
    pool_id    text NOT NULL REFERENCES routing_pools (pool_id),
    agent_id   text NOT NULL,
    status     text NOT NULL,
    state      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pool_id, agent_id)
);
