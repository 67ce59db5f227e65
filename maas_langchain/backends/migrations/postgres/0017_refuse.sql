-- A write that a transaction sends with its next statement or its commit (postgres_tx.py, "writes
-- sent later") has no row count the code could check before committing. A compare-and-set that
-- must hold (a handoff moved under its claim) calls this when it matched no row: the statement
-- fails, and with it the rest of its batch and the transaction, which then stores nothing.
-- restrict_violation is an integrity error, reported as ConflictError with this message.
CREATE OR REPLACE FUNCTION maas_refuse(message text) RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION '%', message USING ERRCODE = 'restrict_violation';
END;
$$;
