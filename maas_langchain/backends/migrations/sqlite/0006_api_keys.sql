-- API keys of the MCP server: the secret is kept only as its SHA-256; the key id is public.
CREATE TABLE api_keys (
    key_id      TEXT PRIMARY KEY,
    agent_id    TEXT NOT NULL,
    scope_floor TEXT,
    read_only   INTEGER NOT NULL,
    created_at  REAL NOT NULL,
    expires_at  REAL,
    revoked_at  REAL,
    name        TEXT,
    secret_hash TEXT NOT NULL
);
CREATE INDEX api_keys_agent ON api_keys (agent_id, created_at);
