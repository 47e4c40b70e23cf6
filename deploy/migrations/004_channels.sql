-- Channels: conversations the gateway threads (voice calls, SMS threads, e-mail threads, chats),
-- their messages in both directions, web chat sessions, and agent desk credentials.

-- Agents sign in to the desk with a token; only its SHA-256 is stored. ``voice_endpoint`` is
-- where a voice contact is connected on accept: 'client:<identity>' or a phone number.
ALTER TABLE agents ADD COLUMN token_hash text UNIQUE;
ALTER TABLE agents ADD COLUMN voice_endpoint text;

-- One row per contact the gateway opened. ``address`` is the customer's phone number, e-mail
-- address or chat id; ``external_id`` the channel's own id (CallSid, chat session id).
CREATE TABLE channel_conversations (
    contact_id      text PRIMARY KEY,
    pool_id         text NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('voice', 'sms', 'email', 'chat')),
    address         text NOT NULL,
    our_address     text,            -- the number or mailbox the customer wrote to
    external_id     text,
    customer_id     text,
    customer_class  text NOT NULL DEFAULT 'standard',
    subject         text,
    callback_number text,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    opened_at       timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz
);
-- At most one open conversation per channel and customer address (SMS and chat threads).
CREATE UNIQUE INDEX channel_conversations_open
    ON channel_conversations (channel, address) WHERE status = 'open' AND channel IN ('sms', 'chat');
CREATE UNIQUE INDEX channel_conversations_external
    ON channel_conversations (channel, external_id) WHERE external_id IS NOT NULL;

-- Every message in a conversation. ``message_id`` is the channel's id (MessageSid, the
-- e-mail Message-ID) or one of ours; e-mail threading looks replies up by it.
CREATE TABLE channel_messages (
    message_id  text PRIMARY KEY,
    contact_id  text NOT NULL REFERENCES channel_conversations (contact_id),
    direction   text NOT NULL CHECK (direction IN ('in', 'out')),
    author      text,            -- the customer's address or the agent id
    body        text NOT NULL DEFAULT '',
    meta        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX channel_messages_contact ON channel_messages (contact_id, created_at);

-- Web chat sessions: the browser holds the token, only its SHA-256 is stored.
CREATE TABLE chat_sessions (
    session_id  text PRIMARY KEY,
    token_hash  text NOT NULL UNIQUE,
    chat_id     text NOT NULL,
    name        text,
    email       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
