-- What routing remembers past the life of its rows, and the processing time of each batch.
--
-- routing_memory: per pool, the event ids of the inputs it applied (kind 'input') and the
-- contacts it finished (kind 'finished'), each with the pool time it happened at; kept for a
-- horizon so that an input redelivered at a new offset (a re-forward after a crash, a gateway
-- or webhook retry) is recognised and a finished contact stays finished. Written in the same
-- transaction as the pool rows and the input offset.
CREATE TABLE routing_memory (
    pool_id  text NOT NULL REFERENCES routing_pools (pool_id),
    kind     text NOT NULL CHECK (kind IN ('input', 'finished')),
    item_id  text NOT NULL,
    at       double precision NOT NULL,
    PRIMARY KEY (pool_id, kind, item_id)
);
CREATE INDEX routing_memory_age ON routing_memory (pool_id, kind, at);

-- The processing time claimed for the inputs after "offset" up to batch_until: offers made from
-- them give agents their window from then. Claimed and committed before anything of a batch is
-- published; while "offset" is below batch_until some outputs may be out with that time, so
-- every replay of those inputs, whatever its batch boundaries, reuses it.
ALTER TABLE routing_offsets
    ADD COLUMN batch_until bigint,
    ADD COLUMN batch_time double precision;
