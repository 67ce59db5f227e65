-- Processes that keep store reads in memory (maas_langchain.graph.store_cache). A store write
-- bumps counters.kv_version only while some other process is registered here, so a single
-- process (the usual deployment) writes without touching the counter's page. A registration
-- lives until expires_at (wall-clock seconds); its owner renews it long before then.
CREATE TABLE kv_readers (
    reader_id  TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
