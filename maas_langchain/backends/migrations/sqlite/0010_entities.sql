-- Entities, facts and the extraction backlog (core/entity_types.py, core/ports/entities.py).
-- A fact is one memory asserting one thing; it is visible where that memory is (its scope_key
-- and memory_seq, joined to memory_scopes), so facts are filtered like memories.
CREATE TABLE entities (
    entity_id   TEXT PRIMARY KEY,
    scope_key   TEXT NOT NULL,
    scope       TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    name        TEXT NOT NULL,
    aliases     TEXT NOT NULL,
    created_at  REAL NOT NULL
);

-- Every normalised name and alias of an entity: one entity per (scope, norm), so resolving a
-- name is one primary-key lookup and an alias is never claimed twice.
CREATE TABLE entity_names (
    scope_key TEXT NOT NULL,
    norm      TEXT NOT NULL,
    entity_id TEXT NOT NULL REFERENCES entities (entity_id) ON DELETE CASCADE,
    PRIMARY KEY (scope_key, norm)
) WITHOUT ROWID;
CREATE INDEX entity_names_entity ON entity_names (entity_id);

CREATE TABLE facts (
    fact_id       TEXT PRIMARY KEY,
    entity_id     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    value_norm    TEXT NOT NULL,
    chain         TEXT NOT NULL,
    memory_id     TEXT NOT NULL,
    memory_seq    INTEGER NOT NULL,
    scope_key     TEXT NOT NULL,
    valid_from    REAL NOT NULL,
    recorded_at   REAL NOT NULL,
    agent_id      TEXT,
    session_id    TEXT,
    object_id     TEXT,
    negated       INTEGER NOT NULL,
    status        TEXT NOT NULL,
    valid_to      REAL,
    supersedes    TEXT,
    superseded_by TEXT,
    corroborates  TEXT,
    extra         TEXT NOT NULL
);
CREATE INDEX facts_chain ON facts (chain, memory_seq, fact_id);
CREATE INDEX facts_memory ON facts (memory_id);
CREATE INDEX facts_entity ON facts (entity_id);
CREATE INDEX facts_scope ON facts (scope_key);

-- Memories waiting for extraction: state 'pending' (to do) or 'failed' (error says why).
CREATE TABLE extraction_jobs (
    memory_id   TEXT PRIMARY KEY,
    memory_seq  INTEGER NOT NULL,
    enqueued_at REAL NOT NULL,
    attempts    INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'failed')),
    error       TEXT
);
CREATE INDEX extraction_jobs_state ON extraction_jobs (state, memory_seq);
