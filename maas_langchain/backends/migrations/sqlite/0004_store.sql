-- LangGraph store items (maas_langchain.graph.store): namespaces, JSON values with TTL, and the
-- vectors their indexed fields were embedded to. Namespace rows are never deleted, so a
-- namespace keeps its position in search order (InMemoryStore's order) and its id can be cached.
CREATE TABLE kv_namespaces (
    ns_id INTEGER PRIMARY KEY,
    ns    TEXT NOT NULL UNIQUE,   -- labels joined with '.' (LangGraph forbids '.' in labels)
    root  TEXT NOT NULL,          -- first label
    owner TEXT                    -- second label (pool, user or agent id under the reserved roots)
);
CREATE INDEX kv_namespaces_owner ON kv_namespaces (root, owner);

CREATE TABLE kv_items (
    item_id     INTEGER PRIMARY KEY,  -- insertion order, kept when the value is replaced
    ns_id       INTEGER NOT NULL REFERENCES kv_namespaces (ns_id),
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    expires_at  REAL,
    ttl_minutes REAL,
    writer      TEXT,
    UNIQUE (ns_id, key)
);
CREATE INDEX kv_items_expires ON kv_items (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE kv_vectors (
    vec_id INTEGER PRIMARY KEY,
    ns_id  INTEGER NOT NULL,
    key    TEXT NOT NULL,
    pos    INTEGER NOT NULL,        -- order of the field paths, as embedded
    path   TEXT NOT NULL,
    vector BLOB NOT NULL,           -- float64, little-endian
    dirty  INTEGER NOT NULL         -- 1 until the vector index has it
);
CREATE INDEX kv_vectors_item ON kv_vectors (ns_id, key, pos);
CREATE INDEX kv_vectors_dirty ON kv_vectors (dirty) WHERE dirty = 1;

-- An item's vectors describe its current value: replacing or deleting the value drops them.
CREATE TRIGGER kv_items_value_changed AFTER UPDATE OF value ON kv_items BEGIN
    DELETE FROM kv_vectors WHERE ns_id = old.ns_id AND key = old.key;
END;
CREATE TRIGGER kv_items_deleted AFTER DELETE ON kv_items BEGIN
    DELETE FROM kv_vectors WHERE ns_id = old.ns_id AND key = old.key;
END;

-- Bumped by every transaction that changes a store item; read caches compare it.
INSERT INTO counters (name, value) VALUES ('kv_version', 0);
