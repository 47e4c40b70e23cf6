-- A report over any stretch of time (a day, a shift, a compressed demo day): the measures of
-- contact_metrics_15m per customer class and channel with subtotals per class, per channel
-- and overall (customer_class or channel '*' marks a subtotal), and the notices by outcome.

CREATE FUNCTION contact_metrics_between(from_time timestamptz, to_time timestamptz)
RETURNS TABLE (
    customer_class text,
    channel text,
    offered bigint,
    answered bigint,
    answered_within_threshold bigint,
    abandoned bigint,
    abandoned_within_threshold bigint,
    completed bigint,
    service_level double precision,
    service_level_abandons double precision,
    asa_seconds double precision,
    abandonment_rate double precision,
    aht_seconds double precision,
    max_wait_seconds double precision
)
LANGUAGE sql STABLE AS $$
    SELECT
        CASE WHEN grouping(f.customer_class) = 1 THEN '*'
             ELSE coalesce(f.customer_class, 'unknown') END,
        CASE WHEN grouping(f.channel) = 1 THEN '*' ELSE coalesce(f.channel, 'unknown') END,
        count(*),
        count(*) FILTER (WHERE f.answered_at IS NOT NULL),
        count(*) FILTER (WHERE f.answered_at IS NOT NULL
                           AND f.wait_seconds <= f.threshold_seconds),
        count(*) FILTER (WHERE f.abandoned_at IS NOT NULL),
        count(*) FILTER (WHERE f.abandoned_at IS NOT NULL
                           AND f.wait_seconds <= f.threshold_seconds),
        count(*) FILTER (WHERE f.completed_at IS NOT NULL),
        (count(*) FILTER (WHERE f.answered_at IS NOT NULL
                            AND f.wait_seconds <= f.threshold_seconds))::float8
            / nullif(count(*) FILTER (WHERE f.answered_at IS NOT NULL), 0),
        (count(*) FILTER (WHERE (f.answered_at IS NOT NULL OR f.abandoned_at IS NOT NULL)
                            AND f.wait_seconds <= f.threshold_seconds))::float8
            / nullif(count(*) FILTER (WHERE f.answered_at IS NOT NULL
                                         OR f.abandoned_at IS NOT NULL), 0),
        avg(f.wait_seconds) FILTER (WHERE f.answered_at IS NOT NULL),
        (count(*) FILTER (WHERE f.abandoned_at IS NOT NULL))::float8
            / nullif(count(*) FILTER (WHERE f.answered_at IS NOT NULL
                                         OR f.abandoned_at IS NOT NULL), 0),
        avg(f.handle_seconds) FILTER (WHERE f.completed_at IS NOT NULL),
        max(f.wait_seconds)
    FROM contact_facts f
    WHERE f.arrival >= from_time AND f.arrival < to_time
    GROUP BY GROUPING SETS ((f.customer_class, f.channel), (f.customer_class), (f.channel), ())
$$;

-- Notices per channel and customer tier by outcome: sent (or delivered), deferred (waiting
-- for the end of the customer's quiet hours), failed (or undelivered), the rest still pending.
CREATE VIEW notice_outcomes AS
SELECT
    n.channel,
    coalesce(c.tier, 'unknown') AS tier,
    date_bin('15 minutes', n.created_at, timestamptz '2000-01-01') AS interval_start,
    count(*) AS notices,
    count(*) FILTER (WHERE n.status IN ('sent', 'delivered')) AS sent,
    count(*) FILTER (WHERE n.status = 'deferred') AS deferred,
    count(*) FILTER (WHERE n.status IN ('failed', 'undelivered')) AS failed,
    count(*) FILTER (WHERE n.status = 'suppressed') AS suppressed,
    count(*) FILTER (WHERE n.status IN ('pending', 'sending', 'unknown')) AS pending
FROM notices n
LEFT JOIN customers c ON c.customer_id = n.customer_id
GROUP BY n.channel, coalesce(c.tier, 'unknown'),
         date_bin('15 minutes', n.created_at, timestamptz '2000-01-01');
