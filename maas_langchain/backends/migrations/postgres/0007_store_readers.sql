-- Processes that keep store reads in memory. Mirrors migrations/sqlite/0007_store_readers.sql.
CREATE TABLE kv_readers (
    reader_id  TEXT COLLATE "C" PRIMARY KEY,
    expires_at DOUBLE PRECISION NOT NULL
);
