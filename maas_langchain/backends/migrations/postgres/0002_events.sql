-- The event stream (outbox): one row per change, numbered by the 'events' counter row so that
-- sequence order is commit order. Mirrors migrations/sqlite/0002_events.sql.
CREATE TABLE events (
    seq       BIGINT PRIMARY KEY,
    kind      TEXT NOT NULL,
    timestamp DOUBLE PRECISION NOT NULL,
    pool_id   TEXT COLLATE "C",
    data      TEXT NOT NULL
);
CREATE INDEX events_pool ON events (pool_id, seq);
CREATE INDEX events_time ON events (timestamp);
INSERT INTO counters (name, value) VALUES ('events', 0);
