-- Mirrors migrations/sqlite/0012_idempotency.sql: one Idempotency-Key record per
-- (principal, key); 'pending' while the first request runs, 'done' with its stored response.
CREATE TABLE idempotency_keys (
    principal   TEXT COLLATE "C" NOT NULL,
    key         TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT COLLATE "C" NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    status      INTEGER,
    response    TEXT,
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
