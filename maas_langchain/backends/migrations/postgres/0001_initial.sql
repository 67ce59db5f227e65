-- Agents, pools, memberships, shared memories, handoffs and the hash-chained audit log.
-- Mirrors migrations/sqlite/0001_initial.sql: same tables, columns, keys and indexes. Ids and
-- other sort keys use the "C" collation so ORDER BY gives SQLite's byte order on any server.
CREATE TABLE agents (
    agent_id     TEXT COLLATE "C" PRIMARY KEY,
    agent_type   TEXT NOT NULL,
    owner_id     TEXT COLLATE "C" NOT NULL,
    name         TEXT,
    project_id   TEXT COLLATE "C",
    team_id      TEXT COLLATE "C",
    capabilities TEXT NOT NULL,
    active       INTEGER NOT NULL,
    metadata     TEXT NOT NULL,
    created_at   DOUBLE PRECISION NOT NULL
);
CREATE INDEX agents_owner ON agents (owner_id, created_at);

CREATE TABLE pools (
    pool_id     TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT NOT NULL,
    owner_id    TEXT COLLATE "C" NOT NULL,
    scope       TEXT NOT NULL,
    status      TEXT NOT NULL,
    metadata    TEXT NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    share_count BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX pools_owner ON pools (owner_id);

CREATE TABLE memberships (
    pool_id    TEXT COLLATE "C" NOT NULL REFERENCES pools (pool_id) ON DELETE CASCADE,
    agent_id   TEXT COLLATE "C" NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    joined_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (pool_id, agent_id)
);
CREATE INDEX memberships_agent ON memberships (agent_id);

CREATE TABLE shared_memories (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pool_id     TEXT COLLATE "C" NOT NULL REFERENCES pools (pool_id) ON DELETE CASCADE,
    memory_id   TEXT COLLATE "C" NOT NULL,
    author_id   TEXT COLLATE "C" NOT NULL,
    scope_level INTEGER NOT NULL,
    owner_id    TEXT COLLATE "C" NOT NULL,
    project_id  TEXT COLLATE "C",
    team_id     TEXT COLLATE "C",
    metadata    TEXT NOT NULL,
    shared_at   DOUBLE PRECISION NOT NULL,
    UNIQUE (pool_id, memory_id)
);
CREATE INDEX shared_pool_seq ON shared_memories (pool_id, seq);
CREATE INDEX shared_memory_id ON shared_memories (memory_id);

CREATE TABLE handoffs (
    handoff_id      TEXT COLLATE "C" PRIMARY KEY,
    source_agent_id TEXT COLLATE "C" NOT NULL,
    target_agent_id TEXT COLLATE "C" NOT NULL,
    context         TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      DOUBLE PRECISION NOT NULL,
    expires_at      DOUBLE PRECISION NOT NULL,
    updated_at      DOUBLE PRECISION NOT NULL,
    accepted_at     DOUBLE PRECISION,
    finished_at     DOUBLE PRECISION,
    result          TEXT,
    reason          TEXT
);
CREATE INDEX handoffs_target ON handoffs (target_agent_id, status);
CREATE INDEX handoffs_source ON handoffs (source_agent_id, status);
CREATE INDEX handoffs_status_expiry ON handoffs (status, expires_at);

CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,
    timestamp  DOUBLE PRECISION NOT NULL,
    event_type TEXT NOT NULL,
    action     TEXT NOT NULL,
    actor      TEXT COLLATE "C",
    target     TEXT COLLATE "C",
    outcome    TEXT NOT NULL,
    reason     TEXT,
    details    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_type ON audit_log (event_type, seq);
CREATE INDEX audit_actor ON audit_log (actor, seq);
CREATE INDEX audit_target ON audit_log (target, seq);

-- Row counts kept in step by every insert and delete, so capacity checks cost O(1).
CREATE TABLE counters (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('agents', 0), ('pools', 0), ('handoffs', 0);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Append-only: UPDATE, DELETE and TRUNCATE on the audit log raise (SQLSTATE 23001, an
-- integrity error, as SQLite's RAISE(ABORT) is).
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
