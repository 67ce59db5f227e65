-- Memories (the source of truth; the vector index only points at them), their scope subsets,
-- a full-text index, sessions and settings. Mirrors migrations/sqlite/0003_memories.sql.
CREATE TABLE memories (
    seq           BIGSERIAL PRIMARY KEY,
    memory_id     TEXT COLLATE "C" NOT NULL UNIQUE,
    content       TEXT NOT NULL,
    search_text   TEXT NOT NULL,
    search_tsv    TSVECTOR GENERATED ALWAYS AS (to_tsvector('english', search_text)) STORED,
    scope_tokens  TEXT NOT NULL,
    sub_tokens    TEXT NOT NULL,
    category      TEXT NOT NULL,
    scope_key     TEXT COLLATE "C",
    scope         TEXT NOT NULL,
    author_id     TEXT COLLATE "C",
    session_id    TEXT COLLATE "C",
    pool_id       TEXT COLLATE "C",
    metadata      TEXT NOT NULL,
    created_at    DOUBLE PRECISION NOT NULL,
    valid_from    DOUBLE PRECISION NOT NULL,
    valid_to      DOUBLE PRECISION,
    status        TEXT NOT NULL,
    supersedes    TEXT COLLATE "C",
    superseded_by TEXT COLLATE "C",
    screening     TEXT NOT NULL,
    prev_id       TEXT COLLATE "C",
    vector        BYTEA,
    dirty         INTEGER NOT NULL
);
CREATE INDEX memories_scope ON memories (scope_key, status);
CREATE INDEX memories_session ON memories (session_id, seq);
CREATE INDEX memories_dirty ON memories (dirty) WHERE dirty = 1;
CREATE INDEX memories_author ON memories (author_id, seq);
CREATE INDEX memories_tsv ON memories USING GIN (search_tsv);

CREATE TABLE memory_scopes (
    sub_key    TEXT COLLATE "C" NOT NULL,
    memory_seq BIGINT NOT NULL REFERENCES memories (seq) ON DELETE CASCADE,
    PRIMARY KEY (sub_key, memory_seq)
);

CREATE TABLE sessions (
    session_id     TEXT COLLATE "C" PRIMARY KEY,
    scope          TEXT NOT NULL,
    agent_id       TEXT COLLATE "C",
    created_at     DOUBLE PRECISION NOT NULL,
    closed_at      DOUBLE PRECISION,
    last_memory_id TEXT COLLATE "C"
);

CREATE TABLE settings (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('memories', 0);
INSERT INTO counters (name, value) VALUES ('open_sessions', 0);
