-- PostgreSQL only (no SQLite counterpart: one SQLite file has no second process to tell).
-- Every insert, delete or change of an agent, a pool's identity or a membership notifies the
-- schema's registry channel (the same name postgres_cache.registry_channel computes), so that
-- the per-process read caches of every host drop that row when the change commits. A pool's
-- share_count, which moves with every share, is not part of the cached record and notifies
-- nothing.
CREATE FUNCTION maas_registry_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    channel TEXT := 'maas_registry_' || left(md5(TG_TABLE_SCHEMA), 16);
    r RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF TG_TABLE_NAME = 'agents' THEN
        PERFORM pg_notify(channel, 'a:' || r.agent_id);
    ELSIF TG_TABLE_NAME = 'pools' THEN
        PERFORM pg_notify(channel, 'p:' || r.pool_id);
    ELSE
        PERFORM pg_notify(channel, 'm:' || r.pool_id || ':' || r.agent_id);
        IF TG_OP = 'UPDATE' THEN  -- a row moved to another key drops its old key too
            PERFORM pg_notify(channel, 'm:' || OLD.pool_id || ':' || OLD.agent_id);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER agents_registry_changed AFTER INSERT OR UPDATE OR DELETE ON agents
    FOR EACH ROW EXECUTE FUNCTION maas_registry_changed();
CREATE TRIGGER pools_registry_changed AFTER INSERT OR DELETE OR UPDATE OF pool_id, name, owner_id, scope, status, metadata, created_at ON pools
    FOR EACH ROW EXECUTE FUNCTION maas_registry_changed();
CREATE TRIGGER memberships_registry_changed AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION maas_registry_changed();

-- Audit entries and events a write transaction adds wait here, committed with its change, until
-- a sequencing pass (postgres_chain.py, run right after the writer's commit, under an advisory
-- lock of its own) moves them into the chain and the stream in one short transaction, so that no
-- writer holds the audit head or the event counter across its own commit. Each pending entry
-- carries a random nonce and a MAC under the audit key over its fields and that nonce: a row
-- written without the key is never chained, and a replayed one (its nonce already in the log) is
-- never chained twice.
CREATE TABLE audit_pending (
    id         BIGSERIAL PRIMARY KEY,
    nonce      TEXT COLLATE "C" NOT NULL UNIQUE,
    mac        TEXT NOT NULL,
    timestamp  DOUBLE PRECISION NOT NULL,
    event_type TEXT NOT NULL,
    action     TEXT NOT NULL,
    actor      TEXT COLLATE "C",
    target     TEXT COLLATE "C",
    outcome    TEXT NOT NULL,
    reason     TEXT,
    details    TEXT NOT NULL
);
CREATE TABLE events_pending (
    id        BIGSERIAL PRIMARY KEY,
    kind      TEXT NOT NULL,
    timestamp DOUBLE PRECISION NOT NULL,
    pool_id   TEXT COLLATE "C",
    data      TEXT NOT NULL
);
ALTER TABLE audit_log ADD COLUMN nonce TEXT COLLATE "C";
CREATE UNIQUE INDEX audit_log_nonce ON audit_log (nonce);
