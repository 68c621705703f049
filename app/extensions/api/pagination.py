"""Pagination: offsets for users, rooms and members (page, page_size ≤ 100); id cursors for timelines."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from operator import attrgetter, itemgetter
from typing import Any

from flask import request
from sqlalchemy import BigInteger, ColumnElement, Integer, Select, bindparam, func, select
from sqlalchemy.orm import InstrumentedAttribute

from ..database import db, read_connection
from ..prepared import Prepared


class Listing:
    """An offset-paginated listing's statements, built once and run with parameters.

    A page's `limit`/`offset` are bind parameters: a statement limited anew for each request
    is a new statement, whose cache key SQLAlchemy walks again (half a millisecond for the
    room listing's). `total` counts the same rows more cheaply than counting `stmt`'s (which
    may compute columns per row), or caps the count.

    `exact`: `total` counts exactly the rows of `stmt`. A page then asks for one row more than
    it shows: when that row is not there, the page is the last and the total is known without
    counting (most users' rooms fit on one page).
    """

    def __init__(self, stmt: Select, total: Select | None = None, *, exact: bool = False) -> None:
        if total is None:
            total = select(func.count()).select_from(stmt.order_by(None).subquery())
        self.total, self.extra_row = total, int(exact)
        # BIGINT: the last page a client may ask for starts past PostgreSQL's INTEGER.
        limit, offset = bindparam("page_limit", type_=Integer), bindparam("page_offset", type_=BigInteger)
        self.rows = stmt.limit(limit).offset(offset)

    def page(self, pagination: Any, params: dict[str, Any] | None = None) -> list[Any]:
        """Run one page and record the total for the `X-Pagination` header; `params` binds both."""
        return self._counted(
            pagination, params, list(db.session.scalars(self.rows, self._bound(pagination, params)))
        )

    @cached_property
    def prepared_rows(self) -> Prepared:
        """`rows` run by the driver: made on first use (a listing built per request never needs it)."""
        return Prepared(self.rows)

    def page_rows(self, pagination: Any, params: dict[str, Any] | None = None) -> list[Sequence[Any]]:
        """`page` for a statement of columns: its rows (tuples), not their first values."""
        return self._counted(pagination, params, _rows(self.prepared_rows, self._bound(pagination, params)))

    def _bound(self, pagination: Any, params: dict[str, Any] | None) -> dict[str, Any]:
        """`params` with the page's: when the total is exact, one row more than the page shows."""
        return {
            **(params or {}),
            "page_limit": pagination.page_size + self.extra_row,
            "page_offset": pagination.first_item,
        }

    def _counted(self, pagination: Any, params: dict[str, Any] | None, rows: Sequence[Any]) -> list[Any]:
        """The page of `rows`, with its total recorded: counted unless the rows tell it."""
        start, size = pagination.first_item, pagination.page_size
        if self.extra_row and len(rows) <= size and (rows or not start):
            pagination.item_count = start + len(rows)
        else:
            pagination.item_count = db.session.scalar(self.total, params)
        return list(rows[:size])


def paginate_query(
    stmt: Select, pagination: Any, params: dict[str, Any] | None = None, *, total: Select | None = None
) -> list[Any]:
    """One page of `stmt` (a `Listing` used once): for listings built per request."""
    return Listing(stmt, total).page(pagination, params)


class Timeline:
    """The statements of one kind of id-cursor page, built once and run with parameters.

    Building an ORM statement (entities, loader options, correlated subqueries) costs more
    CPU than running it on an index range: a timeline read on every request is built at
    import (or first use) with bind parameters for what changes between requests, and its
    pages only bind values. `scope` may hold bind parameters of its own, given to `page`.
    Each page is an index range scan on (scope, id): its cost does not grow with the
    timeline's length. With `rows`, pages are `stmt`'s rows rather than its entities: a Core
    statement of several columns, `id_column` the first, run by the driver (`Prepared`).
    """

    def __init__(
        self,
        stmt: Select,
        id_column: InstrumentedAttribute[int] | ColumnElement[int],
        scope: ColumnElement[bool],
        *,
        rows: bool = False,
    ) -> None:
        scoped = stmt.where(scope)
        limit = bindparam("limit", type_=Integer)
        after, before, first = (bindparam(name, type_=Integer) for name in ("after", "before", "first"))
        newer = scoped.where(id_column > after).order_by(id_column).limit(limit)
        newest = scoped.order_by(id_column.desc()).limit(limit)
        older = scoped.where(id_column < before).order_by(id_column.desc()).limit(limit)
        self.older_than_first = select(id_column).where(scope, id_column < first).limit(1)
        self.read: Callable[[Any, dict[str, Any]], Iterable[Any]]
        self.id_of: Callable[[Any], int]
        self.newer: Prepared | Select
        self.newest: Prepared | Select
        self.older: Prepared | Select
        if rows:
            assert stmt.selected_columns[0] is id_column, "a page's rows start with their id"
            self.newer, self.newest, self.older = (Prepared(each) for each in (newer, newest, older))
            self.read, self.id_of = _rows, itemgetter(0)
        else:
            self.newer, self.newest, self.older = newer, newest, older
            self.read, self.id_of = db.session.scalars, attrgetter("id")

    def page(
        self, *, before: int | None, after: int | None, limit: int, **scope: Any
    ) -> tuple[list[Any], bool, bool]:
        """One page, oldest first; with whether older and newer rows exist.

        Neither cursor: the newest `limit`.
        """
        if after is not None:
            rows = list(self.read(self.newer, {**scope, "after": after, "limit": limit + 1}))
            newer, page = len(rows) > limit, rows[:limit]
            older = bool(page) and (
                db.session.scalar(self.older_than_first, {**scope, "first": self.id_of(page[0])}) is not None
            )
            return page, older, newer
        if before is None:
            rows = list(self.read(self.newest, {**scope, "limit": limit + 1}))
        else:
            rows = list(self.read(self.older, {**scope, "before": before, "limit": limit + 1}))
        older, page = len(rows) > limit, rows[:limit]
        return page[::-1], older, before is not None


def _rows(stmt: Prepared, params: dict[str, Any]) -> Sequence[Sequence[Any]]:
    """All of a page's rows at once, on the request's read connection (the bearer check's, or the
    session's once it has a transaction): a Core statement's rows need no session, nor SQLAlchemy's
    result objects."""
    return stmt.rows(read_connection(), params)


def keyset_page(
    stmt: Select,
    id_column: InstrumentedAttribute[int],
    scope: ColumnElement[bool],
    *,
    before: int | None,
    after: int | None,
    limit: int,
) -> tuple[list[Any], bool, bool]:
    """One page of `stmt` within `scope` (a `Timeline` used once): for pages read rarely."""
    return Timeline(stmt, id_column, scope).page(before=before, after=after, limit=limit)


# How id-cursor pages document their links.
LINK_HEADER = {
    "Link": {
        "description": 'URLs of older (rel="prev") and newer (rel="next") pages',
        "example": '<https://chat.example.com/api/v1/rooms/7/messages?limit=50&before=42>; rel="prev"',
        "schema": {"type": "string"},
    }
}


def pagination_links(ids: Sequence[int], older: bool, newer: bool, limit: int) -> str:
    """The `Link` header: rel="prev" for older items, rel="next" for newer ones (id cursors).

    `ids` are the page's, oldest first (only the first and the last are read). Each URL is the
    request's own, its query replaced by `limit` and the cursor. Joined from the request's parts:
    `url_for` built the path again from the endpoint's rule, and `request.base_url` quotes it,
    about a tenth of a history page's calls together; a path paged by id cursors is all ASCII
    (fixed words and ids), so there is nothing to quote. The request is found once: each of four
    lookups through Flask's proxy cost four calls.
    """
    if not ids:
        return ""
    asked = request._get_current_object()  # type: ignore[attr-defined]  # through the proxy once
    own = f"{asked.scheme}://{asked.host}{asked.root_path}{asked.path}?limit={limit}"
    links = []
    if older:
        links.append(f'<{own}&before={ids[0]}>; rel="prev"')
    if newer:
        links.append(f'<{own}&after={ids[-1]}>; rel="next"')
    return ", ".join(links)
