"""Statements compiled once and run by the driver's cursor: for the ones every request runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import Select
from sqlalchemy.sql.dml import UpdateBase


@dataclass(frozen=True)
class _Compiled:
    sql: str
    defaults: dict[str, Any]  # the statement's own bound values (literals it was built with)
    computed: tuple[tuple[str, Callable[[], Any]], ...]  # values made as it runs (`bindparam(callable_=)`)
    order: tuple[str, ...] | None  # parameter names in the order of a positional paramstyle
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]  # parameters the dialect converts
    # Result columns the dialect converts: known from the first run's cursor, whose description
    # some of the dialect's processors need (psycopg's numbers, by their type code).
    results: tuple[tuple[int, Callable[[Any], Any]], ...] | None


class Prepared:
    """A statement compiled once per dialect, then run by the pooled connection's DB-API cursor.

    The bearer check (every authenticated request) and a stream's opening each run one small
    indexed read, and SQLAlchemy's work around running a statement it has compiled before (the
    compiled-cache lookup hashing the statement's whole cache key, the execution context, the
    result and row objects) cost more than the database's own: about 90 µs of a 160 µs read on
    SQLite; a send's INSERT and UPDATEs likewise. Writes run in the connection's transaction, as
    any statement on it would. What SQLAlchemy would still do is kept: the dialect's conversion
    of parameters and of each row's values (timestamps aware, booleans `bool`),
    `before_cursor_execute` and `after_cursor_execute` listeners hear the statement, and a driver
    error goes through SQLAlchemy's handling (an `OperationalError` answers 503 like any other; a
    lost connection is invalidated with the rest of the pool, not handed back to it).
    """

    def __init__(self, statement: Select | UpdateBase) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def rows(self, connection: Connection, parameters: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """Every row (a SELECT's, or what a write RETURNING gives), as tuples in column order."""
        return self._run(connection, parameters, fetch=True)

    def run(self, connection: Connection, parameters: Mapping[str, Any]) -> None:
        """A write that returns nothing."""
        self._run(connection, parameters, fetch=False)

    def _run(
        self, connection: Connection, parameters: Mapping[str, Any], *, fetch: bool
    ) -> Sequence[Sequence[Any]]:
        dialect = connection.dialect
        compiled = self._by_dialect.get(dialect.name) or self._compile(dialect)
        values = {**compiled.defaults, **parameters}
        for name, make in compiled.computed:
            values[name] = make()
        for name, convert in compiled.binds:
            values[name] = convert(values[name])
        sent: Any = values if compiled.order is None else tuple(values[name] for name in compiled.order)
        proxied = connection.connection  # the pool's proxy of the driver's connection
        # Whether anyone listens, asked as SQLAlchemy asks it before each statement: reaching a new
        # connection's `dispatch` to find nobody there cost 13 calls a hook, a quarter of a read.
        heard = connection._has_events or connection.engine._has_events
        cursor = proxied.cursor()
        try:
            if heard:
                connection.dispatch.before_cursor_execute(connection, cursor, compiled.sql, sent, None, False)
            cursor.execute(compiled.sql, sent)
            fetched = cursor.fetchall() if fetch else ()
            if compiled.results is None and fetch and cursor.description is not None:
                compiled = self._described(dialect, compiled, cursor.description)
            if heard:
                connection.dispatch.after_cursor_execute(connection, cursor, compiled.sql, sent, None, False)
        except Exception as error:
            # SQLAlchemy's own handling of a driver error, as for every statement it runs itself:
            # wrapped (an `OperationalError` is the outage's 503), `handle_error` listeners told, and
            # a lost connection invalidated with every older one in the pool.
            connection._handle_dbapi_exception(error, compiled.sql, sent, cursor, None)
        finally:
            cursor.close()
        if not compiled.results:
            return fetched
        rows = [list(row) for row in fetched]
        for cells in rows:  # in line, no call a row: a room list converts fifty
            for index, convert in compiled.results:
                cells[index] = convert(cells[index])
        return [tuple(cells) for cells in rows]

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        if compiled.post_compile_params:  # an IN list's, say: its SQL differs with each value
            raise ValueError("a prepared statement's SQL must not depend on its parameters")
        if compiled.insert_prefetch or compiled.update_prefetch:  # made by SQLAlchemy as it runs
            raise ValueError("a prepared write must not need a column's Python-side default")
        binds = tuple(
            (name, convert)
            for name, bind in compiled.binds.items()
            if (convert := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        )
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        given = [(name, bind) for name, bind in compiled.binds.items() if not bind.required]
        defaults = {name: bind.value for name, bind in given if bind.callable is None}
        computed = tuple((name, bind.callable) for name, bind in given if bind.callable is not None)
        prepared = _Compiled(compiled.string, defaults, computed, order, binds, None)
        self._by_dialect[dialect.name] = prepared
        return prepared

    def _described(self, dialect: Dialect, compiled: _Compiled, description: Sequence[Any]) -> _Compiled:
        """`compiled` with the converters of its result columns, as the cursor described them."""
        columns = zip(self.statement.exported_columns, description, strict=True)
        results = tuple(
            (index, convert)
            for index, (column, (_, type_code, *_)) in enumerate(columns)
            if (convert := column.type.dialect_impl(dialect).result_processor(dialect, type_code)) is not None
        )
        described = replace(compiled, results=results)
        self._by_dialect[dialect.name] = described
        return described
