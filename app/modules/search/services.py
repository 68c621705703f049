"""Full-text search over the messages the caller may read, with the database's own engine.

Both engines get the same contract: every word of `q` must occur in the message, words match
whole and case-insensitively (no stemming, no prefixes), and the best match comes first, ties
newest first. `q` is never parsed as query syntax, so no input can make the query fail.

The matches are found by the full-text index alone, and the caller's rooms filter them. Left to
itself, PostgreSQL's planner ANDs the full-text bitmap with each room's whole range of the room
index: 2 ms per room of 20,000 messages, twice per request, growing with the rooms rather than
with what matches (bench/growth.py). A materialized CTE fences the matches off from the room
filter; the page and its total come from one statement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import CTE, ColumnElement, Integer, column, func, literal_column, select, table
from sqlalchemy.dialects import postgresql

from app.extensions.database import db
from app.modules.messages.models import Message, with_reply_counts
from app.modules.rooms.models import Membership, Room, within_ttl
from app.modules.users.models import User

from .index import FTS_TABLE, TEXT_SEARCH_CONFIG, VECTOR_COLUMN

_fts = table(FTS_TABLE, column("rowid", Integer))
# FTS5's hidden column named after the table: the left side of MATCH and bm25's argument.
_fts_self: ColumnElement[Any] = literal_column(FTS_TABLE)
_vector = literal_column(f"{Message.__tablename__}.{VECTOR_COLUMN}", postgresql.TSVECTOR)

Ordering = Callable[[ColumnElement[Any]], ColumnElement[Any]]


def fts5_query(q: str) -> str:
    """An FTS5 query that means "all these words": each whitespace-separated piece is quoted.

    Inside double quotes FTS5 sees a phrase, never an operator (OR, NEAR, *, :, parentheses,
    column filters); a quote is escaped by doubling it. A piece with no word characters is an
    empty phrase, which FTS5 ignores, so `q` made only of punctuation matches nothing (and `""`
    stands in for a blank `q`: an empty MATCH string would be a syntax error).
    """
    pieces = q.split()
    return " ".join('"' + piece.replace('"', '""') + '"' for piece in pieces) or '""'


def _sqlite_match(q: str) -> tuple[ColumnElement[bool], ColumnElement[float], Ordering]:
    """The match condition, the rank and the best-first ordering: bm25 is lower for better matches."""
    return _fts_self.op("MATCH")(fts5_query(q)), func.bm25(_fts_self), lambda rank: rank.asc()


def _postgresql_match(q: str) -> tuple[ColumnElement[bool], ColumnElement[float], Ordering]:
    """The same on PostgreSQL: ts_rank is higher for better; plainto_tsquery reads no operators."""
    query = postgresql.plainto_tsquery(TEXT_SEARCH_CONFIG, q)
    return _vector.bool_op("@@")(query), func.ts_rank(_vector, query), lambda rank: rank.desc()


def _matching(q: str) -> tuple[CTE, Ordering]:
    """Every undeleted message matching `q`, wherever it is (id, room_id, created_at, rank).

    MATERIALIZED keeps PostgreSQL from merging the room filter into the index scan.
    """
    found = select(Message.id, Message.room_id, Message.created_at)
    if db.session.get_bind().dialect.name == "sqlite":
        matches, rank, best_first = _sqlite_match(q)
        found = found.join(_fts, _fts.c.rowid == Message.id)
    else:
        matches, rank, best_first = _postgresql_match(q)
    found = found.add_columns(rank.label("rank")).where(matches, Message.deleted_at.is_(None))
    return found.cte("matching").prefix_with("MATERIALIZED", dialect="postgresql"), best_first


def search_page(user: User, q: str, room: Room | None, pagination: Any) -> list[Message]:
    """One page of the live messages matching `q` in the rooms `user` belongs to (or in `room`), best first.

    Sets `pagination.item_count`, which comes with the page; a page past the end has no row to
    carry it, and is counted apart. Messages past their room's TTL are left out, though the
    sweep may not have removed them yet.
    """
    matching, best_first = _matching(q)
    rooms = select(Membership.room_id).where(Membership.user_id == user.id)
    if room is not None:
        rooms = rooms.where(Membership.room_id == room.id)
    readable = (
        select(matching.c.id, matching.c.rank)
        .join(Room, Room.id == matching.c.room_id)
        .where(matching.c.room_id.in_(rooms), within_ttl(matching.c, Room.message_ttl_seconds))
    )
    page = (
        readable.add_columns(func.count().over().label("total"))
        .order_by(best_first(matching.c.rank), matching.c.id.desc())
        .limit(pagination.page_size)
        .offset(pagination.first_item)
        .subquery("page")
    )
    rows = db.session.execute(
        select(Message, page.c.total)
        .join(page, page.c.id == Message.id)
        .options(with_reply_counts())
        .order_by(best_first(page.c.rank), Message.id.desc())
    ).all()
    if rows or pagination.first_item == 0:
        pagination.item_count = rows[0].total if rows else 0
    else:
        pagination.item_count = db.session.scalar(select(func.count()).select_from(readable.subquery()))
    return [found for found, _ in rows]
