"""How the PostgreSQL backend shows itself and its failures: a URL without its password, and
every driver error mapped onto the MaaS exception tree (:func:`translate`)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import PoolTimeout

from maas_langchain.errors import (
    BackendUnavailableError,
    ConcurrentWriteError,
    ConflictError,
    InvalidInputError,
    MaaSError,
)

__all__ = ["RECHECK", "display_location", "first_line", "translate"]

RECHECK = "MR001"
"""SQLSTATE of migration 0018's ``maas_recheck``: a write found what it was decided on changed."""
_LOST = ("08", "57P")  # SQLSTATE classes of a connection that is gone (08xxx, admin/crash shutdown)
# A value PostgreSQL cannot take: too large for an index row or a limit (54xxx), a Python type
# that maps to no operator for the column (42883, 42804, 42P18).
_BAD_VALUE = ("54", "42883", "42804", "42P18")


def display_location(conninfo: str) -> str:
    """Return ``conninfo`` as a ``postgresql://`` URL without its password, for people and logs."""
    params = {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if v is not None and k != "password"}
    user, host, port = params.pop("user", ""), params.pop("host", ""), params.pop("port", "")
    dbname = params.pop("dbname", "")
    if "/" in host or "," in host:  # a socket folder or several hosts: keep them as a parameter
        params["host"], host = host, ""
    netloc = (f"{quote(user)}@" if user else "") + host + (f":{port}" if port else "")
    query = f"?{urlencode(sorted(params.items()))}" if params else ""
    return f"postgresql://{netloc}/{quote(dbname)}{query}"


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message (or its type's name), for error messages."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _connection_lost(exc: psycopg.Error) -> bool:
    if isinstance(exc, psycopg.InterfaceError):
        return True
    return isinstance(exc, psycopg.OperationalError) and (exc.sqlstate is None or exc.sqlstate.startswith(_LOST))


def translate(exc: psycopg.Error, where: str) -> MaaSError:
    """Map a psycopg error onto the MaaS exception tree."""
    detail = first_line(exc)
    if exc.sqlstate == RECHECK:
        return ConcurrentWriteError(f"{detail}; nothing was stored, retry", location=where)
    if isinstance(exc, psycopg.IntegrityError):
        return ConflictError(f"the change conflicts with stored data: {detail}")
    if isinstance(exc, psycopg.DataError) or (exc.sqlstate or "").startswith(_BAD_VALUE):
        return InvalidInputError(f"PostgreSQL cannot take a value: {detail}")
    if isinstance(exc, psycopg.ProgrammingError) and exc.sqlstate is None:  # the driver could not adapt a value
        return InvalidInputError(f"PostgreSQL cannot take a value: {detail}")
    if isinstance(exc, (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)):
        return BackendUnavailableError(
            f"the transaction on {where} collided with a concurrent one and was rolled back; retry", location=where
        )
    if isinstance(exc, pg_errors.LockNotAvailable):
        return BackendUnavailableError(f"the database at {where} stayed locked by other writers; retry", location=where)
    if isinstance(exc, PoolTimeout):
        return BackendUnavailableError(
            f"no connection to PostgreSQL at {where} became available ({detail}); check that the server is "
            "running, then retry",
            location=where,
        )
    if _connection_lost(exc):
        return BackendUnavailableError(
            f"the connection to PostgreSQL at {where} was lost ({detail}); the transaction was rolled back and "
            "nothing was committed; retry",
            location=where,
        )
    return BackendUnavailableError(f"the database at {where} failed: {detail}", location=where)
