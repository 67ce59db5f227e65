-- One LangGraph store put in one statement (PostgresBackend.kv_put_alone): the transaction-local
-- lock wait and durability settings, the writers' advisory lock on the schema (held exclusive, as
-- by every write that claims nothing), the upsert of kv_items.sql's _UPSERT, and the kv_version
-- bump of its _BUMP that tells other processes' caches. Called outside a transaction, so the
-- statement is its own transaction: one round trip instead of BEGIN ... COMMIT. The caller passes
-- the lock key (derived from the schema name), the lock wait in milliseconds, and whether the
-- commit waits for the disk (durability "full").
CREATE FUNCTION kv_put_alone(
    p_lock BIGINT,
    p_lock_timeout TEXT,
    p_sync BOOLEAN,
    p_ns_id BIGINT,
    p_key TEXT,
    p_value TEXT,
    p_now DOUBLE PRECISION,
    p_expires_at DOUBLE PRECISION,
    p_ttl_minutes DOUBLE PRECISION,
    p_writer TEXT,
    p_reader TEXT,
    p_live_after DOUBLE PRECISION
) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    moved BIGINT;
BEGIN
    PERFORM set_config('lock_timeout', p_lock_timeout, true);
    IF p_sync THEN
        PERFORM set_config('synchronous_commit', 'on', true);
    END IF;
    PERFORM pg_advisory_xact_lock(p_lock);
    INSERT INTO kv_items (ns_id, key, value, created_at, updated_at, expires_at, ttl_minutes, writer)
    VALUES (p_ns_id, p_key, p_value, p_now, p_now, p_expires_at, p_ttl_minutes, p_writer)
    ON CONFLICT (ns_id, key) DO UPDATE SET value = excluded.value, created_at = excluded.created_at,
        updated_at = excluded.updated_at, expires_at = excluded.expires_at, ttl_minutes = excluded.ttl_minutes,
        writer = excluded.writer;
    UPDATE counters SET value = value + 1 WHERE name = 'kv_version'
        AND EXISTS (SELECT 1 FROM kv_readers WHERE reader_id <> p_reader AND expires_at > p_live_after)
        RETURNING value INTO moved;
    RETURN moved;
END $$;

-- The same for a batch of puts (no vectors, every namespace known): the rows as one JSON array,
-- as kv_items.sql's _UPSERT_JSON reads them. The settings, lock and bump repeat kv_put_alone's on
-- purpose: moved into shared plpgsql functions they cost a nested call each, and a single put
-- measured ~10 % slower (2026-12-06).
CREATE FUNCTION kv_put_many(
    p_lock BIGINT,
    p_lock_timeout TEXT,
    p_sync BOOLEAN,
    p_rows JSON,
    p_reader TEXT,
    p_live_after DOUBLE PRECISION
) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    moved BIGINT;
BEGIN
    PERFORM set_config('lock_timeout', p_lock_timeout, true);
    IF p_sync THEN
        PERFORM set_config('synchronous_commit', 'on', true);
    END IF;
    PERFORM pg_advisory_xact_lock(p_lock);
    INSERT INTO kv_items (ns_id, key, value, created_at, updated_at, expires_at, ttl_minutes, writer)
    SELECT * FROM json_to_recordset(p_rows) AS r (ns_id BIGINT, key TEXT, value TEXT, created_at FLOAT8,
        updated_at FLOAT8, expires_at FLOAT8, ttl_minutes FLOAT8, writer TEXT)
    ON CONFLICT (ns_id, key) DO UPDATE SET value = excluded.value, created_at = excluded.created_at,
        updated_at = excluded.updated_at, expires_at = excluded.expires_at, ttl_minutes = excluded.ttl_minutes,
        writer = excluded.writer;
    UPDATE counters SET value = value + 1 WHERE name = 'kv_version'
        AND EXISTS (SELECT 1 FROM kv_readers WHERE reader_id <> p_reader AND expires_at > p_live_after)
        RETURNING value INTO moved;
    RETURN moved;
END $$;
