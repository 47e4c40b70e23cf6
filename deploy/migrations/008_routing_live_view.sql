-- Routing's live contacts as typed columns: the contract through which readers outside
-- routing (the agent desk restoring an agent's work, ops queries) see the queue, so that the
-- JSON row format of routing_contacts.state stays routing's own.
CREATE VIEW routing_live_contacts AS
SELECT
    pool_id,
    contact_id,
    status,                                                -- waiting, offered, assigned, wrap_up
    state->>'channel' AS channel,
    state->>'customer_class' AS customer_class,
    (state->>'arrived_at')::double precision AS arrived_at,
    state->>'agent_id' AS agent_id,
    state->>'offer_id' AS offer_id,
    coalesce((state->>'attempts')::integer, 0) AS attempts,
    (state->>'offer_expires_at')::double precision AS offer_expires_at,
    (state->>'assigned_at')::double precision AS assigned_at,
    coalesce((state->>'callback')::boolean, false) AS callback,
    updated_at
FROM routing_contacts;
