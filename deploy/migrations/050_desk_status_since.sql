-- When routing's agent and contact rows last changed their status (not merely their row):
-- the desk's time in state and wrap-up timers come from here, so a reload or a desk restart
-- shows the same times. routing writes its rows as before; the trigger keeps the time.
ALTER TABLE routing_agents ADD COLUMN IF NOT EXISTS status_since timestamptz;
ALTER TABLE routing_contacts ADD COLUMN IF NOT EXISTS status_since timestamptz;
UPDATE routing_agents SET status_since = updated_at WHERE status_since IS NULL;
UPDATE routing_contacts SET status_since = updated_at WHERE status_since IS NULL;
ALTER TABLE routing_agents ALTER COLUMN status_since SET DEFAULT now();
ALTER TABLE routing_contacts ALTER COLUMN status_since SET DEFAULT now();

CREATE OR REPLACE FUNCTION routing_keep_status_since() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        NEW.status_since := now();
    ELSE
        NEW.status_since := OLD.status_since;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER routing_agents_status_since BEFORE INSERT OR UPDATE ON routing_agents
    FOR EACH ROW EXECUTE FUNCTION routing_keep_status_since();
CREATE TRIGGER routing_contacts_status_since BEFORE INSERT OR UPDATE ON routing_contacts
    FOR EACH ROW EXECUTE FUNCTION routing_keep_status_since();

-- A wrap-up the agent started on the desk ("End & wrap up" before the customer ended): kept
-- until the contact completes, so a reload shows the wrap-up with its timer.
CREATE TABLE IF NOT EXISTS desk_wrapups (
    contact_id text PRIMARY KEY,
    agent_id   text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now()
);
