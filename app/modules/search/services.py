"""Full-text search over the messages the caller may read, with the database's own engine.

Both engines get the same contract: every word of `q` must occur in the message, words match
whole and case-insensitively (no stemming, no prefixes), and the best match comes first, ties
newest first. `q` is never parsed as query syntax, so no input can make the query fail.

The matches are found by the full-text index alone, and the caller's rooms filter them. Left to
itself, PostgreSQL's planner ANDs the full-text bitmap with each room's whole range of the room
index: 2 ms per room of 20,000 messages, twice per request, growing with the rooms rather than
with what matches (bench/growth.py). A materialized CTE fences the matches off from the room
filter; the page and its total come from one statement, built once.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    String,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects import postgresql

from app.extensions.database import db
from app.modules.messages.models import Message, with_reply_counts
from app.modules.rooms.models import Membership, Room, execution_time, within_ttl
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


# What the statements bind per request, besides the page: the words, the caller, the one room.
_words = bindparam("q", type_=String)
_user_id, _room_id = bindparam("user_id", type_=Integer), bindparam("room_id", type_=Integer)


def _sqlite_match() -> tuple[ColumnElement[bool], ColumnElement[float], Ordering]:
    """The match condition, the rank and the best-first ordering: bm25 is lower for better matches."""
    return _fts_self.op("MATCH")(_words), func.bm25(_fts_self), lambda rank: rank.asc()


def _postgresql_match() -> tuple[ColumnElement[bool], ColumnElement[float], Ordering]:
    """The same on PostgreSQL: ts_rank is higher for better; plainto_tsquery reads no operators."""
    query = postgresql.plainto_tsquery(TEXT_SEARCH_CONFIG, _words)
    return _vector.bool_op("@@")(query), func.ts_rank(_vector, query), lambda rank: rank.desc()


def _matching(dialect: str) -> tuple[CTE, Ordering]:
    """Every undeleted message matching the words, wherever it is (id, room_id, created_at, rank).

    MATERIALIZED keeps PostgreSQL from merging the room filter into the index scan.
    """
    found = select(Message.id, Message.room_id, Message.created_at)
    if dialect == "sqlite":
        matches, rank, best_first = _sqlite_match()
        found = found.join(_fts, _fts.c.rowid == Message.id)
    else:
        matches, rank, best_first = _postgresql_match()
    found = found.add_columns(rank.label("rank")).where(matches, Message.deleted_at.is_(None))
    return found.cte("matching").prefix_with("MATERIALIZED", dialect="postgresql"), best_first


@cache
def _statements(dialect: str, one_room: bool) -> tuple[Select, Select]:
    """A page of the matches the caller may read with their total, and that total alone.

    Built once per engine and kind (in the caller's rooms, or in one of them): building them
    costs more CPU than running them on a few matches.
    """
    matching, best_first = _matching(dialect)
    rooms = select(Membership.room_id).where(Membership.user_id == _user_id)
    if one_room:
        rooms = rooms.where(Membership.room_id == _room_id)
    readable = (
        select(matching.c.id, matching.c.rank)
        .join(Room, Room.id == matching.c.room_id)
        .where(
            matching.c.room_id.in_(rooms),
            within_ttl(matching.c, Room.message_ttl_seconds, now=execution_time()),
        )
    )
    # BIGINT: the last page a client may ask for starts past PostgreSQL's INTEGER.
    limit, offset = bindparam("page_limit", type_=Integer), bindparam("page_offset", type_=BigInteger)
    page = (
        readable.add_columns(func.count().over().label("total"))
        .order_by(best_first(matching.c.rank), matching.c.id.desc())
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    rows = (
        select(Message, page.c.total)
        .join(page, page.c.id == Message.id)
        .options(with_reply_counts())
        .order_by(best_first(page.c.rank), Message.id.desc())
    )
    return rows, select(func.count()).select_from(readable.subquery())


def search_page(user: User, q: str, room: Room | None, pagination: Any) -> list[Message]:
    """One page of the live messages matching `q` in the rooms `user` belongs to (or in `room`), best first.

    Sets `pagination.item_count`, which comes with the page; a page past the end has no row to
    carry it, and is counted apart. Messages past their room's TTL are left out, though the
    sweep may not have removed them yet.
    """
    dialect = db.session.get_bind().dialect.name
    page, total = _statements(dialect, room is not None)
    params = {"q": fts5_query(q) if dialect == "sqlite" else q, "user_id": user.id}
    if room is not None:
        params["room_id"] = room.id
    bound = {**params, "page_limit": pagination.page_size, "page_offset": pagination.first_item}
    rows = db.session.execute(page, bound).all()
    if rows or pagination.first_item == 0:
        pagination.item_count = rows[0].total if rows else 0
    else:
        pagination.item_count = db.session.scalar(total, params)
    return [found for found, _ in rows]
