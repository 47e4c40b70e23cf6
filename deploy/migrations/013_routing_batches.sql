-- What routing applied, batch by batch: the inputs after offset after_offset up to last_offset of
-- a routing partition, applied with the processing time processed_at (the time offers are timed
-- from). Written in the transaction that stores the batch's state, so it lists exactly the
-- committed batches; with the routing topic (every input and clock tick, in partition order) it
-- is what `contactcenter replay` needs to reproduce routing's decisions exactly.
CREATE TABLE routing_batches (
    topic        text NOT NULL,
    partition    integer NOT NULL,
    after_offset bigint NOT NULL,
    last_offset  bigint NOT NULL,
    processed_at double precision NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition, last_offset)
);
