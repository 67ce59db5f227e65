-- A sequencing pass (postgres_chain.py) appends all the entries it chains in one multi-row INSERT
-- and moves the head once, instead of one INSERT and one head UPDATE per entry. The two guards of
-- migration 0010 are redefined to allow that and nothing more:
--
-- * an entry is appended right after the newest entry of the log or the chain head, whichever is
--   further (the rows a statement inserted before it count: a row-level BEFORE trigger sees them),
--   so entries still go one after the other, without a gap or a repeat;
-- * the head moves forward only, onto the newest entry, and every entry between its old and its
--   new place exists (no gap is skipped over).
--
-- Entries past the head exist only inside the pass that appends them, which holds the sequencer's
-- lock and moves the head in the same transaction.
CREATE OR REPLACE FUNCTION audit_log_next_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq IS DISTINCT FROM GREATEST(
        (SELECT seq FROM audit_head WHERE id = 1),
        (SELECT max(seq) FROM audit_log)
    ) + 1 THEN
        RAISE EXCEPTION 'audit entries are appended in sequence, right after the chain head'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.id <> OLD.id OR NEW.seq <= OLD.seq
       OR NOT EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq AND hash = NEW.hash)
       OR (SELECT count(*) FROM audit_log WHERE seq > OLD.seq AND seq <= NEW.seq) <> NEW.seq - OLD.seq
       OR EXISTS (SELECT 1 FROM audit_log WHERE seq > NEW.seq) THEN
        RAISE EXCEPTION 'the audit chain head only moves forward, onto the newest entry'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
