-- Mirrors migrations/sqlite/0011_memory_digests.sql: one row per (scope, author, category,
-- content) digest; remembering the same text again returns the stored memory.
CREATE TABLE memory_digests (
    digest    TEXT COLLATE "C" PRIMARY KEY,
    memory_id TEXT COLLATE "C" NOT NULL
);
