"""Pagination: offsets for users, rooms and members (page, page_size ≤ 100); id cursors for timelines."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute

from ..database import db


def paginate_query(stmt: Select, pagination: Any) -> list[Any]:
    """Run one page of `stmt` and record the total for the `X-Pagination` header."""
    pagination.item_count = db.session.scalar(
        select(func.count()).select_from(stmt.order_by(None).subquery())
    )
    page = stmt.limit(pagination.page_size).offset(pagination.first_item)
    return list(db.session.scalars(page))


def keyset_page(
    stmt: Select,
    id_column: InstrumentedAttribute[int],
    scope: ColumnElement[bool],
    *,
    before: int | None,
    after: int | None,
    limit: int,
) -> tuple[list[Any], bool, bool]:
    """One page of `stmt` within `scope`, oldest first by id; with whether older and newer rows exist.

    Neither cursor: the newest `limit`. Each page is an index range scan on (scope, id): its
    cost does not grow with the timeline's length.
    """
    stmt = stmt.where(scope)
    if after is not None:
        rows = list(db.session.scalars(stmt.where(id_column > after).order_by(id_column).limit(limit + 1)))
        newer, page = len(rows) > limit, rows[:limit]
        older = (
            bool(page)
            and db.session.scalar(select(id_column).where(scope, id_column < page[0].id).limit(1)) is not None
        )
        return page, older, newer
    if before is not None:
        stmt = stmt.where(id_column < before)
    rows = list(db.session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1)))
    older, page = len(rows) > limit, rows[:limit]
    return page[::-1], older, before is not None


# How id-cursor pages document their links.
LINK_HEADER = {
    "Link": {
        "description": 'URLs of older (rel="prev") and newer (rel="next") pages',
        "schema": {"type": "string"},
    }
}


def pagination_links(url_for_page: Any, page: list[Any], older: bool, newer: bool) -> str:
    """The `Link` header: rel="prev" for older items, rel="next" for newer ones (id cursors)."""
    links = []
    if page and older:
        links.append(f'<{url_for_page(before=page[0].id)}>; rel="prev"')
    if page and newer:
        links.append(f'<{url_for_page(after=page[-1].id)}>; rel="next"')
    return ", ".join(links)
