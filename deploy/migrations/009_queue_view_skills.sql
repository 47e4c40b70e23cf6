-- The skills a waiting contact needs, on routing's live view: the desk's queue view counts
-- the contacts an agent could take (their skills), not the whole pool. Appended as the last
-- column, so existing readers of the view are unchanged.
CREATE OR REPLACE VIEW routing_live_contacts AS
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
    updated_at,
    coalesce(state->'skills', '{}'::jsonb) AS skills
FROM routing_contacts;
