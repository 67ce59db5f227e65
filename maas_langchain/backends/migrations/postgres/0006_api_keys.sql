-- API keys of the MCP server: the secret is kept only as its SHA-256; the key id is public.
-- Mirrors migrations/sqlite/0006_api_keys.sql.
CREATE TABLE api_keys (
    key_id      TEXT COLLATE "C" PRIMARY KEY,
    agent_id    TEXT COLLATE "C" NOT NULL,
    scope_floor TEXT,
    read_only   INTEGER NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    expires_at  DOUBLE PRECISION,
    revoked_at  DOUBLE PRECISION,
    name        TEXT,
    secret_hash TEXT NOT NULL
);
CREATE INDEX api_keys_agent ON api_keys (agent_id, created_at);
