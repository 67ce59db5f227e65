-- A write decided beside others of its kind (a share holding its pool's lock shared:
-- pools.share_memory) checks, as it writes, that what it read
-- still holds: the pool's count under its limit, the share's author its own. When a concurrent
-- writer changed either, the statement calls this: it fails with SQLSTATE MR001, and with it the
-- transaction, which then stores nothing. postgres_errors maps MR001 to ConcurrentWriteError,
-- on which the service runs the write again, holding the pool's lock alone.
CREATE OR REPLACE FUNCTION maas_recheck(message text) RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION '%', message USING ERRCODE = 'MR001';
END;
$$;
