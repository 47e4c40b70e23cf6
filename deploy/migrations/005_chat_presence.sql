-- Web chat presence: when the customer's last socket closed without "end" (NULL while one is
-- connected, or after they reconnect). A chat left longer than chat_reconnect_grace_seconds is
-- ended (assigned) or abandoned (still waiting) by the gateway, once: the close claims it.
ALTER TABLE channel_conversations ADD COLUMN customer_left_at timestamptz;
CREATE INDEX channel_conversations_left ON channel_conversations (customer_left_at)
    WHERE status = 'open' AND customer_left_at IS NOT NULL;
