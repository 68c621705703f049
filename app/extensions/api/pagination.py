"""Offset pagination for collections of users, rooms and members (docs/api.md: page, page_size ≤ 100)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from ..database import db


def paginate_query(stmt: Select, pagination: Any) -> list[Any]:
    """Run one page of `stmt` and record the total for the `X-Pagination` header."""
    pagination.item_count = db.session.scalar(
        select(func.count()).select_from(stmt.order_by(None).subquery())
    )
    page = stmt.limit(pagination.page_size).offset(pagination.first_item)
    return list(db.session.scalars(page))
