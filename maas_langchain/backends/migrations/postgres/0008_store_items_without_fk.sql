-- PostgreSQL only (SQLite checks the key with an index probe that costs next to nothing).
-- kv_items.ns_id referenced kv_namespaces, which PostgreSQL checks with a row trigger per
-- inserted row: about 15 % of a batched store put. Namespace ids come only from kv_namespaces
-- rows (looked up or inserted in the same transaction, or cached after their commit) and those
-- rows are never deleted, so the reference cannot break; the constraint guarded nothing.
ALTER TABLE kv_items DROP CONSTRAINT IF EXISTS kv_items_ns_id_fkey;
