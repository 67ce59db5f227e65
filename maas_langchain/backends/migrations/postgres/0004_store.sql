-- LangGraph store items (maas_langchain.graph.store). Mirrors migrations/sqlite/0004_store.sql.
-- COLLATE "C" keeps namespace prefix ranges byte-ordered, as on SQLite.
CREATE TABLE kv_namespaces (
    ns_id BIGSERIAL PRIMARY KEY,
    ns    TEXT COLLATE "C" NOT NULL UNIQUE,
    root  TEXT COLLATE "C" NOT NULL,
    owner TEXT COLLATE "C"
);
CREATE INDEX kv_namespaces_owner ON kv_namespaces (root, owner);

CREATE TABLE kv_items (
    item_id     BIGSERIAL PRIMARY KEY,
    ns_id       BIGINT NOT NULL REFERENCES kv_namespaces (ns_id),
    key         TEXT COLLATE "C" NOT NULL,
    value       TEXT NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    updated_at  DOUBLE PRECISION NOT NULL,
    expires_at  DOUBLE PRECISION,
    ttl_minutes DOUBLE PRECISION,
    writer      TEXT COLLATE "C",
    UNIQUE (ns_id, key)
);
CREATE INDEX kv_items_expires ON kv_items (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE kv_vectors (
    vec_id BIGSERIAL PRIMARY KEY,
    ns_id  BIGINT NOT NULL,
    key    TEXT COLLATE "C" NOT NULL,
    pos    INTEGER NOT NULL,
    path   TEXT NOT NULL,
    vector BYTEA NOT NULL,
    dirty  INTEGER NOT NULL
);
CREATE INDEX kv_vectors_item ON kv_vectors (ns_id, key, pos);
CREATE INDEX kv_vectors_dirty ON kv_vectors (dirty) WHERE dirty = 1;

-- An item's vectors describe its current value: replacing or deleting the value drops them.
CREATE FUNCTION kv_items_drop_vectors() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM kv_vectors WHERE ns_id = OLD.ns_id AND key = OLD.key;
    RETURN NULL;
END
$$;
CREATE TRIGGER kv_items_value_changed AFTER UPDATE OF value OR DELETE ON kv_items
    FOR EACH ROW EXECUTE FUNCTION kv_items_drop_vectors();

INSERT INTO counters (name, value) VALUES ('kv_version', 0);
