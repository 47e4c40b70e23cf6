-- What routing's predicted wait remembers of a pool (recent handle times, arrival rates), stored
-- with the pool's state in the same transaction, and the wait it predicts for a new arrival per
-- class and channel ({"vip": {"voice": 12.5, "chat": null}}; null: no ready agent serves it).
ALTER TABLE routing_pools
    ADD COLUMN estimator jsonb,
    ADD COLUMN predicted_waits jsonb;

-- The prediction as typed columns: the contract through which the gateway (the IVR's callback
-- offer) and ops read it, so that the JSON of routing_pools stays routing's own. A row exists
-- for every class and every channel the pool serves; a null wait is an unbounded one.
CREATE VIEW routing_predicted_waits AS
SELECT
    p.pool_id,
    c.key AS customer_class,
    w.key AS channel,
    (w.value #>> '{}')::double precision AS predicted_wait_seconds,
    p.clock AS predicted_at,
    p.updated_at
FROM routing_pools p
CROSS JOIN LATERAL jsonb_each(coalesce(p.predicted_waits, '{}'::jsonb)) AS c
CROSS JOIN LATERAL jsonb_each(c.value) AS w;
