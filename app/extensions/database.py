"""The SQLAlchemy handle, the base every model derives from, and what a database outage answers."""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from flask.globals import _cv_app
from flask.typing import ResponseReturnValue
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import DateTime, MetaData, String, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, Dialect, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator
from werkzeug.exceptions import HTTPException

from .errors import abort, error_payload
from .outages import Dependency

log = logging.getLogger(__name__)

# Named constraints, so that Alembic can drop and alter them on every engine.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """What every model derives from: a typed declarative base that mypy reads.

    `db.Model` is built by Flask-SQLAlchemy at run time from this class and shares its registry and
    metadata, so models deriving from `Base` are the same mappings to Flask-SQLAlchemy and Alembic;
    a type checker only sees their columns through this class.
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Database(SQLAlchemy):
    """Flask-SQLAlchemy, with a pool sized from the settings and a 503 when the database cannot serve.

    A request that finds every pooled connection busy waits `DB_POOL_TIMEOUT` seconds, then
    answers 503 with `Retry-After`: under gevent one worker runs hundreds of requests, and
    waiting SQLAlchemy's default 30 s would hold them all (and the client) for nothing. An
    `OperationalError` is, per the DB-API, the database failing rather than the query (no
    connection, a restart): also a 503, never a 500; or a transaction losing to another (a
    deadlock, SQLite's lock held too long: `contended`), a 503 that is no outage.

    PostgreSQL sessions run without JIT compilation: it starts once a plan's estimated cost passes
    `jit_above_cost`, which the estimates of the per-room counts in `/rooms` do once `messages`
    holds about 10⁶ rows. The query then ran in 5 ms and compiled for 2.1 s, on every request.
    """

    def init_app(self, app: Flask) -> None:
        url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
        options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        if not in_memory:  # that has a single connection, no pool
            pool = {
                "pool_size": app.config["DB_POOL_SIZE"],
                "max_overflow": app.config["DB_MAX_OVERFLOW"],
                "pool_timeout": app.config["DB_POOL_TIMEOUT"],
            }
            options = {**pool, **options}
        if url.get_backend_name() == "postgresql":
            options = {
                **options,
                "connect_args": {"options": "-c jit=off", **options.get("connect_args", {})},
            }
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
        super().init_app(app)
        on_every_session("after_transaction_end", _transaction_ended)
        health = Dependency("database", settle=app.config["DB_POOL_TIMEOUT"])
        app.extensions["parley.database"] = health
        with app.app_context():
            for engine in self.engines.values():
                event.listen(engine.pool, "checkout", lambda *_: health.answered())
        app.register_error_handler(PoolTimeoutError, _pool_exhausted)
        app.register_error_handler(OperationalError, _unreachable)

    def _teardown_session(self, exc: BaseException | None) -> None:
        """The session closes, then a connection lent to a request that made none goes back too."""
        super()._teardown_session(exc)
        _give_back()


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


_LENT = "parley.lent_connection"  # in the app context's `g`: the connection `read_connection` lent


def _lent() -> Connection | None:
    """The connection lent in this app context, if any: one context-variable read (`get_bind` asks)."""
    context = _cv_app.get(None)
    return None if context is None else context.g.__dict__.get(_LENT)


def _give_back() -> None:
    context = _cv_app.get(None)
    if context is not None and (lent := context.g.__dict__.pop(_LENT, None)) is not None:
        lent.close()


def _transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    """A session gives its connection back at the end of each transaction: a lent one too (a
    sender waiting for its room's turn commits first, to wait holding none)."""
    if transaction.parent is None:
        _give_back()


def read_connection() -> Connection:
    """A connection for reads, without the ORM session if it has no transaction yet.

    Every authenticated request reads its bearer token first, and a light one (`/users/me`) reads
    nothing else: on the session's own connection that read also cost making the session, its
    transaction, its connection bookkeeping and their teardown, half of the statement's cost.
    This one is checked out of the pool and lent to the app context; the session, if the request
    goes on to need one, runs its transaction on that same connection and takes over what it
    began (`RequestSession`), so a request still costs one checkout and its route reads in the
    bearer check's transaction. The end of that transaction, closing the session, or the end of
    the app context gives it back.
    """
    if db.session.registry.has() and db.session().in_transaction():
        return db.session.connection()
    lent = _lent()
    if lent is None:
        lent = _cv_app.get().g.__dict__[_LENT] = db.engine.connect()
    return lent


class RequestSession(FlaskSession):
    """Flask-SQLAlchemy's session, on the connection `read_connection` lent if one was.

    Parley has one database: a lent connection serves every table (no bind keys). Its transaction,
    if a read began one, becomes the session's (`join_transaction_mode="control_fully"`): the
    session's commit commits it, its rollback or close rolls it back.
    """

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        if bind is None and (lent := _lent()) is not None:
            return lent
        return super().get_bind(mapper, clause, bind, **kwargs)

    def close(self) -> None:
        """As the session's own connection did, a lent one goes back to the pool (streams rely on it)."""
        super().close()
        _give_back()


# Objects stay readable after commit: a service returns what it changed without reloading it
# behind the caller's back (and per-caller query expressions are never re-run without their joins).
db = Database(
    model_class=Base,
    session_options={
        "class_": RequestSession,
        "expire_on_commit": False,
        "join_transaction_mode": "control_fully",
    },
)


def rows_changed(statement: Executable) -> int:
    """Run an UPDATE or DELETE in the session; how many rows it changed.

    `Session.execute` is typed to return a `Result`; only the `CursorResult` that a statement
    without rows to return gives counts them.
    """
    result = db.session.execute(statement)
    assert isinstance(result, CursorResult)
    return result.rowcount


def insert_if_absent(model: type[Base], **values: object) -> bool:
    """Insert a row unless a unique key already holds one; whether it was inserted.

    The database decides (ON CONFLICT DO NOTHING), so of concurrent identical requests exactly
    one inserts and none fails: the others see the row as already there.
    """
    db.session.flush()
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    table = model.__table__
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing()
    return db.session.execute(statement.returning(*table.primary_key)).first() is not None


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite drops the offset; this puts it back so the API always prints `+00:00`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        """`process_result_value` after the dialect's own processing, in one call or none.

        SQLAlchemy runs the two one after the other, for every timestamp of every row: a history
        page's are most of its result processing. psycopg reads `timestamptz` as aware already.
        """
        if dialect.name == "sqlite":
            return _utc_from_sqlite
        if dialect.name == "postgresql":
            return None
        return super().result_processor(dialect, coltype)


def _utc_from_sqlite(value: str | None) -> datetime | None:
    """SQLite's text of a timestamp (what SQLAlchemy's SQLite dialect parses), read as UTC."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class iso_text(FunctionElement[str]):
    """A `UTCDateTime` column as the API prints it (`datetime.isoformat()`: no fraction for a whole
    second, `+00:00`), made by the database as text.

    For the rows answers are built from by hand (history pages, the room list): a timestamp read
    as a `datetime` cost three calls on SQLite (its text parsed, then made aware) and one more to
    print it, for each timestamp of each row. SQLite holds the timestamp as SQLAlchemy writes it
    (`2026-11-22 10:00:00.000000`, UTC); PostgreSQL formats it in UTC.
    """

    type = String()
    name = "iso_text"
    inherit_cache = True


@compiles(iso_text, "sqlite")
def _iso_text_on_sqlite(element: iso_text, compiler: SQLCompiler, **kw: Any) -> str:
    moment = compiler.process(element.clauses, **kw)
    fraction = f"substr({moment}, 21, 6)"
    return (
        f"substr({moment}, 1, 10) || 'T' || substr({moment}, 12, 8) || "
        f"CASE WHEN {fraction} IN ('', '000000') THEN '' ELSE '.' || {fraction} END || '+00:00'"
    )


@compiles(iso_text, "postgresql")
def _iso_text_on_postgresql(element: iso_text, compiler: SQLCompiler, **kw: Any) -> str:
    moment = compiler.process(element.clauses, **kw)
    whole = """'YYYY-MM-DD"T"HH24:MI:SS'"""
    return (
        f"to_char({moment} AT TIME ZONE 'UTC', CASE WHEN date_trunc('second', {moment}) = {moment} "
        f"THEN {whole} ELSE {whole} || '.US' END) || '+00:00'"
    )


def render_migration_type(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Alembic hook: write `UTCDateTime` columns as plain timezone-aware DateTime in migrations."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def on_every_session(identifier: str, hook: Callable[..., None]) -> None:
    """Call `hook` at `identifier` (`"after_commit"`…) of every Session: for a module's `init_app`.

    Registered once however many applications a process builds (the tests build many), and only by
    the modules enabled, not by importing them.
    """
    if not event.contains(Session, identifier, hook):
        event.listen(Session, identifier, hook)


def utcnow() -> datetime:
    return datetime.now(UTC)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: object, connection_record: object) -> None:
    """Enforce foreign keys and allow concurrent readers on SQLite."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
