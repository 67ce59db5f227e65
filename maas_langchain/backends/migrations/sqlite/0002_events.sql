-- The event stream (outbox): one row per change, numbered by the 'events' counter row so that
-- sequence order is commit order.
CREATE TABLE events (
    seq       INTEGER PRIMARY KEY,
    kind      TEXT NOT NULL,
    timestamp REAL NOT NULL,
    pool_id   TEXT,
    data      TEXT NOT NULL
);
CREATE INDEX events_pool ON events (pool_id, seq);
CREATE INDEX events_time ON events (timestamp);
INSERT INTO counters (name, value) VALUES ('events', 0);
