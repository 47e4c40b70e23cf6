-- A routing partition whose log went backwards (a broker restarted empty, a topic recreated, a
-- cluster restored): routing found inputs at or below its stored offset that it never applied,
-- and stopped that partition rather than skip them. One open row per partition (recovered_at
-- NULL) until `contactcenter routing-recover` moves the stored offset back to first_unseen - 1;
-- the row then stays as the record of what was done.
CREATE TABLE routing_offset_regressions (
    id            bigserial PRIMARY KEY,
    topic         text NOT NULL,
    partition     integer NOT NULL,
    stored_offset bigint NOT NULL,       -- routing's offset when the regression was found
    first_unseen  bigint NOT NULL,       -- lowest offset holding an input never applied
    detected_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    recovered_at  timestamptz,
    resumed_after bigint,                -- the stored offset the recovery set
    removed_batches integer              -- routing_batches rows of the lost log removed
);

CREATE UNIQUE INDEX routing_offset_regressions_open
    ON routing_offset_regressions (topic, partition) WHERE recovered_at IS NULL;
