"""The SQLAlchemy handle, the base every model derives from, and the connections requests read on."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Flask
from flask.globals import _cv_app
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import MetaData, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction
from sqlalchemy.sql import Executable

from . import database_errors
from .outages import Dependency

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
        options = {"json_serializer": _json_text, **options}
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
        database_errors.init_app(app)

    def _teardown_session(self, exc: BaseException | None) -> None:
        """The session closes, then a connection lent to a request that made none goes back too."""
        super()._teardown_session(exc)
        _give_back()


def _json_text(value: Any) -> str:
    """A JSON column's value as text (the outbox's event data: every change writes one), by orjson.

    SQLAlchemy's default is the stdlib's `json.dumps`: 5.4 µs for a sent message's event data, where
    orjson takes 0.4 (and a send writes two events). The column is read back as JSON, never as text,
    so orjson's spacing and its characters past ASCII written as they are change nothing; what
    orjson refuses (an integer past 64 bits, a key that is not a string) goes to the stdlib.
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


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
