-- A contact whose offer expired, was declined or was withdrawn is back in the queue: its
-- status is 'queued' again, not 'offered'. 'offered' now means an offer is open: more offers
-- made than ended (declined, expired, rescinded); counters are order-insensitive like the
-- rest of the row.
ALTER TABLE contacts ADD COLUMN rescinds integer NOT NULL DEFAULT 0;

DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 170000 THEN
        EXECUTE $sql$
            ALTER TABLE contacts ALTER COLUMN status SET EXPRESSION AS (
                CASE
                    WHEN completed_at IS NOT NULL THEN 'completed'
                    WHEN abandoned_at IS NOT NULL THEN 'abandoned'
                    WHEN removed_reason IS NOT NULL THEN 'removed'
                    WHEN answered_at IS NOT NULL THEN 'assigned'
                    WHEN offers > rejections + expirations + rescinds THEN 'offered'
                    WHEN queued_at IS NOT NULL THEN 'queued'
                    ELSE 'arrived'
                END
            )
        $sql$;
    ELSE
        RAISE NOTICE 'PostgreSQL before 17 cannot change a generated column in place:'
            ' contacts.status keeps reading offered for a contact whose offer ended';
    END IF;
END
$$;
