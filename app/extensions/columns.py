"""Column types: timestamps stored in UTC and read back aware, or as the text answers show; indexes
of the rows where a column is set."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Index, String, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator


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


def index_where_set(name: str, column: str, *columns: str) -> Index:
    """An index on `column` (then `columns`) of only the rows where `column` is not null.

    For a column most rows leave null (a message's parent, an event's room or user): a full index
    keeps an entry for each of those rows, which every INSERT writes (into a page of its own, since
    nulls sort first) and no query reads. Both engines use the partial index for `column = …` and
    `column IN (…)`, which say the column is set.
    """
    where = text(f"{column} IS NOT NULL")
    return Index(name, column, *columns, sqlite_where=where, postgresql_where=where)
