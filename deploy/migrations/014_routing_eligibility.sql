-- Eligibility and honest promises (routing): who could serve each requirement that has waiting
-- contacts, stored with the pool's state in the same transaction, and whether a waiting contact
-- is unservable (no logged-in agent could take it).

-- Per requirement with waiting contacts ("chat" or "chat|lang_fr>=1"): the logged-in agents
-- qualified for it, the slots and free room of the ready ones, the handle time the estimate
-- assumes and whether it is rough: {"chat|lang_fr>=1": {"logged_in": 0, "slots": 0, ...}}.
ALTER TABLE routing_pools ADD COLUMN serving jsonb;

-- The same as typed columns: the contract through which the gateway (the chat's place in line,
-- the IVR) reads it, so that the JSON of routing_pools stays routing's own.
CREATE VIEW routing_requirement_serving AS
SELECT
    p.pool_id,
    r.key AS requirement,
    (r.value->>'logged_in')::integer AS logged_in,
    (r.value->>'slots')::integer AS slots,
    (r.value->>'free')::integer AS free,
    (r.value->>'handle_seconds')::double precision AS handle_seconds,
    (r.value->>'rough')::boolean AS rough,
    p.clock AS computed_at,
    p.updated_at
FROM routing_pools p
CROSS JOIN LATERAL jsonb_each(coalesce(p.serving, '{}'::jsonb)) AS r;

-- The requirement no logged-in agent meets, while a waiting contact is unservable (null
-- otherwise), appended as the last column of routing's live view so that existing readers are
-- unchanged.
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
    coalesce(state->'skills', '{}'::jsonb) AS skills,
    state->>'unservable' AS unservable
FROM routing_contacts;
