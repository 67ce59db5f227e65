-- Memories (the source of truth; the vector index only points at them), their scope subsets,
-- a full-text index, sessions and settings.
CREATE TABLE memories (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    memory_id     TEXT NOT NULL UNIQUE,
    content       TEXT NOT NULL,
    search_text   TEXT NOT NULL,
    scope_tokens  TEXT NOT NULL,
    sub_tokens    TEXT NOT NULL,
    category      TEXT NOT NULL,
    scope_key     TEXT,
    scope         TEXT NOT NULL,
    author_id     TEXT,
    session_id    TEXT,
    pool_id       TEXT,
    metadata      TEXT NOT NULL,
    created_at    REAL NOT NULL,
    valid_from    REAL NOT NULL,
    valid_to      REAL,
    status        TEXT NOT NULL,
    supersedes    TEXT,
    superseded_by TEXT,
    screening     TEXT NOT NULL,
    prev_id       TEXT,
    vector        BLOB,
    dirty         INTEGER NOT NULL
);
CREATE INDEX memories_scope ON memories (scope_key, status);
CREATE INDEX memories_session ON memories (session_id, seq);
CREATE INDEX memories_dirty ON memories (dirty) WHERE dirty = 1;
CREATE INDEX memories_author ON memories (author_id, seq);

-- Every non-empty subset of a memory's scope, so "the query scope is a subset of the memory's"
-- (a descendant) is one indexed lookup.
CREATE TABLE memory_scopes (
    sub_key    TEXT NOT NULL,
    memory_seq INTEGER NOT NULL REFERENCES memories (seq) ON DELETE CASCADE,
    PRIMARY KEY (sub_key, memory_seq)
) WITHOUT ROWID;

-- Full-text index. scope_tokens / sub_tokens hold one numeric token per canonical scope (the
-- memory's own; every subset of it), so a MATCH can restrict to the reader's scope inside the
-- index instead of scoring every match in the store and filtering afterwards.
CREATE VIRTUAL TABLE memories_fts USING fts5 (
    search_text, scope_tokens, sub_tokens, content = 'memories', content_rowid = 'seq',
    tokenize = 'porter unicode61'
);
CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, search_text, scope_tokens, sub_tokens)
    VALUES (new.seq, new.search_text, new.scope_tokens, new.sub_tokens);
END;
CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, search_text, scope_tokens, sub_tokens)
    VALUES ('delete', old.seq, old.search_text, old.scope_tokens, old.sub_tokens);
END;

CREATE TABLE sessions (
    session_id     TEXT PRIMARY KEY,
    scope          TEXT NOT NULL,
    agent_id       TEXT,
    created_at     REAL NOT NULL,
    closed_at      REAL,
    last_memory_id TEXT
);

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('memories', 0);
INSERT INTO counters (name, value) VALUES ('open_sessions', 0);
