-- One row per (scope, author, category, content) digest of a memory written since this
-- migration: remembering the same text again returns the stored memory (core/memory_dedup.py).
CREATE TABLE memory_digests (
    digest    TEXT PRIMARY KEY,
    memory_id TEXT NOT NULL
);
