-- Keyed audit hashes (HMAC-SHA256 under a key kept outside the database; docs/audit.md).
-- Entries before keyed_from were written with unkeyed SHA-256 and stay so; the first open with
-- a key stores seal = MAC(keyed_from, hash of entry keyed_from - 1), once.
CREATE TABLE audit_keying (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    keyed_from INTEGER NOT NULL,
    seal       TEXT
);
INSERT INTO audit_keying (id, keyed_from, seal) SELECT 1, seq + 1, NULL FROM audit_head WHERE id = 1;

CREATE TRIGGER audit_keying_sealed_once BEFORE UPDATE ON audit_keying
WHEN OLD.seal IS NOT NULL OR NEW.seal IS NULL OR NEW.id IS NOT OLD.id OR NEW.keyed_from IS NOT OLD.keyed_from
BEGIN SELECT RAISE(ABORT, 'the audit keying boundary is sealed once and never changes'); END;
CREATE TRIGGER audit_keying_no_insert BEFORE INSERT ON audit_keying
BEGIN SELECT RAISE(ABORT, 'the audit keying boundary is sealed once and never changes'); END;
CREATE TRIGGER audit_keying_no_delete BEFORE DELETE ON audit_keying
BEGIN SELECT RAISE(ABORT, 'the audit keying boundary is sealed once and never changes'); END;

-- Entries are appended right after the chain head (INSERT OR REPLACE fires no delete trigger,
-- so without this an existing entry could be replaced).
CREATE TRIGGER audit_log_next_only BEFORE INSERT ON audit_log
WHEN NEW.seq IS NOT (SELECT seq FROM audit_head WHERE id = 1) + 1
BEGIN SELECT RAISE(ABORT, 'audit entries are appended in sequence, right after the chain head'); END;

-- The head moves one entry forward at a time, onto an entry that exists; never back.
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
WHEN NEW.id IS NOT OLD.id OR NEW.seq IS NOT OLD.seq + 1
    OR NOT EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq AND hash = NEW.hash)
BEGIN SELECT RAISE(ABORT, 'the audit chain head only moves forward, onto the newest entry'); END;
CREATE TRIGGER audit_head_no_insert BEFORE INSERT ON audit_head
BEGIN SELECT RAISE(ABORT, 'the audit chain head only moves forward, onto the newest entry'); END;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN SELECT RAISE(ABORT, 'the audit chain head only moves forward, onto the newest entry'); END;
