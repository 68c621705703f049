"""What the API answers when the database cannot serve a request, and what it logs: an outage once,
a transaction that lost to another each time."""

from __future__ import annotations

import logging
import math
import sqlite3

from flask import Flask, current_app
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from .errors import abort, error_payload

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    app.register_error_handler(PoolTimeoutError, _pool_exhausted)
    app.register_error_handler(OperationalError, _unreachable)


def _pool_exhausted(error: PoolTimeoutError) -> ResponseReturnValue:
    return _unavailable(error, "The server is busy; retry after the Retry-After delay.")


def _unreachable(error: OperationalError) -> ResponseReturnValue:
    if contended(error):
        return _unavailable(error, "The server is busy; retry after the Retry-After delay.")
    return _unavailable(error, "The database is unavailable; retry after the Retry-After delay.")


def contended(error: OperationalError) -> bool:
    """Whether the transaction lost to another one rather than the database failing: a deadlock or
    a serialization failure (PostgreSQL's SQLSTATE class 40), or SQLite's lock still held when its
    busy timeout ran out. The database answers; the same request may well succeed when retried."""
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None)  # psycopg's
    if sqlstate is not None:
        return str(sqlstate).startswith("40")
    code = getattr(original, "sqlite_errorcode", None)  # the primary code is the low byte
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def unavailable(app: Flask, error: OperationalError | PoolTimeoutError) -> None:
    """Note that the database could not serve (logged once per outage): also for background threads.

    A transaction that lost to another (`contended`) is no outage: logged as it happens, and the
    database stays ready."""
    if isinstance(error, OperationalError) and contended(error):
        log.warning("database: a transaction lost to another (%s)", str(error.orig).strip() or error)
        return
    problem = "pool exhausted" if isinstance(error, PoolTimeoutError) else "unreachable"
    app.extensions["parley.database"].failed(problem, error)


def _unavailable(error: OperationalError | PoolTimeoutError, message: str) -> ResponseReturnValue:
    """503 in the API's error shape; an outage is logged once, not once per request."""
    unavailable(current_app, error)
    retry_after = str(math.ceil(current_app.config["DB_RETRY_AFTER_SECONDS"]))
    try:
        abort(503, message, headers={"Retry-After": retry_after})
    except HTTPException as answer:
        payload, headers = error_payload(answer)  # not the 5xx handler: it would log every request
        return payload, 503, headers
