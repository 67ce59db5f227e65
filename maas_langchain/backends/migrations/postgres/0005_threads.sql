-- Checkpointer threads: the agent that owns each LangGraph thread (the first to write a
-- checkpoint for it). The checkpoints live in LangGraph's own saver tables.
CREATE TABLE thread_owners (
    thread_id  TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX thread_owners_owner ON thread_owners (owner_id);
