-- The access kernel (docs/security.md).
-- 1. Scope ancestry follows the hierarchy's order: a memory is found below a query scope only if
--    that scope is a *prefix* of the memory's. memory_scopes held every subset of a memory's
--    scope (so {project: q3} matched {org: acme, project: q3}); keep only the prefixes, and mark
--    the current memories dirty so the vector index's scope_sub metadata is pushed again.
DELETE FROM memory_scopes WHERE NOT EXISTS (
    SELECT 1 FROM memories m
    WHERE m.seq = memory_scopes.memory_seq
      AND (m.scope_key = memory_scopes.sub_key
           OR substr(m.scope_key, 1, length(memory_scopes.sub_key) + 1) = memory_scopes.sub_key || '|')
);
UPDATE memories SET dirty = 1 WHERE status = 'active';
-- 2. Capacity per owner and per agent: counters named memories.agent:<author>,
--    memories.owner:<owner> and pools.owner:<owner>, kept in the same transaction as the rows.
INSERT INTO counters (name, value)
    SELECT 'memories.agent:' || author_id, COUNT(*) FROM memories WHERE author_id IS NOT NULL GROUP BY author_id;
INSERT INTO counters (name, value)
    SELECT 'memories.owner:' || a.owner_id, COUNT(*) FROM memories m JOIN agents a ON a.agent_id = m.author_id
    GROUP BY a.owner_id;
INSERT INTO counters (name, value)
    SELECT 'pools.owner:' || owner_id, COUNT(*) FROM pools GROUP BY owner_id;
