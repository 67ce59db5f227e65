-- Idempotency-Key records (core/idempotency.py, core/ports/idempotency.py): one row per
-- (principal, key), so a retried write request is answered from the stored response instead of
-- running twice. state is 'pending' while the first request runs, 'done' once status and
-- response are stored; rows older than the service's ttl are purged by created_at.
CREATE TABLE idempotency_keys (
    principal   TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at  REAL NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    status      INTEGER,
    response    TEXT,
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
