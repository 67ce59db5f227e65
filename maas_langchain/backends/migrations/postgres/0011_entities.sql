-- Entities, facts and the extraction backlog (core/entity_types.py, core/ports/entities.py).
-- Mirrors migrations/sqlite/0010_entities.sql. A fact is one memory asserting one thing; it is
-- visible where that memory is (its scope_key and memory_seq, joined to memory_scopes).
CREATE TABLE entities (
    entity_id   TEXT COLLATE "C" PRIMARY KEY,
    scope_key   TEXT COLLATE "C" NOT NULL,
    scope       TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    name        TEXT NOT NULL,
    aliases     TEXT NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL
);

-- Every normalised name and alias of an entity: one entity per (scope, norm), so resolving a
-- name is one primary-key lookup and an alias is never claimed twice.
CREATE TABLE entity_names (
    scope_key TEXT COLLATE "C" NOT NULL,
    norm      TEXT COLLATE "C" NOT NULL,
    entity_id TEXT COLLATE "C" NOT NULL REFERENCES entities (entity_id) ON DELETE CASCADE,
    PRIMARY KEY (scope_key, norm)
);
CREATE INDEX entity_names_entity ON entity_names (entity_id);

CREATE TABLE facts (
    fact_id       TEXT COLLATE "C" PRIMARY KEY,
    entity_id     TEXT COLLATE "C" NOT NULL,
    kind          TEXT NOT NULL,
    key           TEXT COLLATE "C" NOT NULL,
    value         TEXT NOT NULL,
    value_norm    TEXT COLLATE "C" NOT NULL,
    chain         TEXT COLLATE "C" NOT NULL,
    memory_id     TEXT COLLATE "C" NOT NULL,
    memory_seq    BIGINT NOT NULL,
    scope_key     TEXT COLLATE "C" NOT NULL,
    valid_from    DOUBLE PRECISION NOT NULL,
    recorded_at   DOUBLE PRECISION NOT NULL,
    agent_id      TEXT COLLATE "C",
    session_id    TEXT COLLATE "C",
    object_id     TEXT COLLATE "C",
    negated       INTEGER NOT NULL,
    status        TEXT NOT NULL,
    valid_to      DOUBLE PRECISION,
    supersedes    TEXT COLLATE "C",
    superseded_by TEXT COLLATE "C",
    corroborates  TEXT COLLATE "C",
    extra         TEXT NOT NULL
);
CREATE INDEX facts_chain ON facts (chain, memory_seq, fact_id);
CREATE INDEX facts_memory ON facts (memory_id);
CREATE INDEX facts_entity ON facts (entity_id);
CREATE INDEX facts_scope ON facts (scope_key);

-- Memories waiting for extraction: state 'pending' (to do) or 'failed' (error says why).
CREATE TABLE extraction_jobs (
    memory_id   TEXT COLLATE "C" PRIMARY KEY,
    memory_seq  BIGINT NOT NULL,
    enqueued_at DOUBLE PRECISION NOT NULL,
    attempts    INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'failed')),
    error       TEXT
);
CREATE INDEX extraction_jobs_state ON extraction_jobs (state, memory_seq);
