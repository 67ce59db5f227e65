-- Keyed audit hashes (HMAC-SHA256 under a key kept outside the database; docs/audit.md).
-- Entries before keyed_from were written with unkeyed SHA-256 and stay so; the first open with
-- a key stores seal = MAC(keyed_from, hash of entry keyed_from - 1), once.
CREATE TABLE audit_keying (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    keyed_from BIGINT NOT NULL,
    seal       TEXT
);
INSERT INTO audit_keying (id, keyed_from, seal) SELECT 1, seq + 1, NULL FROM audit_head WHERE id = 1;

CREATE FUNCTION audit_keying_sealed_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR OLD.seal IS NOT NULL OR NEW.seal IS NULL OR NEW.id <> OLD.id
       OR NEW.keyed_from <> OLD.keyed_from THEN
        RAISE EXCEPTION 'the audit keying boundary is sealed once and never changes'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_keying_sealed_once BEFORE INSERT OR UPDATE OR DELETE ON audit_keying
    FOR EACH ROW EXECUTE FUNCTION audit_keying_sealed_once();
CREATE TRIGGER audit_keying_no_truncate BEFORE TRUNCATE ON audit_keying
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Entries are appended right after the chain head.
CREATE FUNCTION audit_log_next_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq IS DISTINCT FROM (SELECT seq FROM audit_head WHERE id = 1) + 1 THEN
        RAISE EXCEPTION 'audit entries are appended in sequence, right after the chain head'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_log_next_only BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_next_only();

-- The head moves one entry forward at a time, onto an entry that exists; never back.
CREATE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.id <> OLD.id OR NEW.seq <> OLD.seq + 1
       OR NOT EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq AND hash = NEW.hash) THEN
        RAISE EXCEPTION 'the audit chain head only moves forward, onto the newest entry'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_head_forward_only BEFORE INSERT OR UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
