"""Full-text search over the messages the caller may read, with the database's own engine.

Both engines get the same contract: every word of `q` must occur in the message, words match
whole and case-insensitively (no stemming, no prefixes), and the best match comes first, ties
newest first. `q` is never parsed as query syntax, so no input can make the query fail.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, column, func, literal_column, select, table
from sqlalchemy.dialects import postgresql

from app.extensions.database import db
from app.modules.messages.models import Message, live, with_reply_counts
from app.modules.rooms.models import Membership, Room
from app.modules.users.models import User

from .index import FTS_TABLE, TEXT_SEARCH_CONFIG, VECTOR_COLUMN

_fts = table(FTS_TABLE, column("rowid", Integer))
# FTS5's hidden column named after the table: the left side of MATCH and bm25's argument.
_fts_self: ColumnElement[Any] = literal_column(FTS_TABLE)
_vector = literal_column(f"{Message.__tablename__}.{VECTOR_COLUMN}", postgresql.TSVECTOR)


def fts5_query(q: str) -> str:
    """An FTS5 query that means "all these words": each whitespace-separated piece is quoted.

    Inside double quotes FTS5 sees a phrase, never an operator (OR, NEAR, *, :, parentheses,
    column filters); a quote is escaped by doubling it. A piece with no word characters is an
    empty phrase, which FTS5 ignores, so `q` made only of punctuation matches nothing (and `""`
    stands in for a blank `q`: an empty MATCH string would be a syntax error).
    """
    pieces = q.split()
    return " ".join('"' + piece.replace('"', '""') + '"' for piece in pieces) or '""'


def _sqlite_match(q: str) -> tuple[ColumnElement[bool], ColumnElement]:
    """The match condition and the best-first ordering: bm25 is lower for better matches."""
    return _fts_self.op("MATCH")(fts5_query(q)), func.bm25(_fts_self).asc()


def _postgresql_match(q: str) -> tuple[ColumnElement[bool], ColumnElement]:
    """The same on PostgreSQL: ts_rank is higher for better; plainto_tsquery reads no operators."""
    query = postgresql.plainto_tsquery(TEXT_SEARCH_CONFIG, q)
    return _vector.bool_op("@@")(query), func.ts_rank(_vector, query).desc()


def search_statement(user: User, q: str, room: Room | None = None) -> Select:
    """Live messages matching `q` in the rooms `user` belongs to (or in `room`), best first.

    Messages past their room's TTL are left out, though the sweep may not have removed them yet.
    """
    stmt = select(Message).options(with_reply_counts())
    if db.session.get_bind().dialect.name == "sqlite":
        matches, best_first = _sqlite_match(q)
        stmt = stmt.join(_fts, _fts.c.rowid == Message.id)
    else:
        matches, best_first = _postgresql_match(q)
    rooms = select(Membership.room_id).where(Membership.user_id == user.id)
    if room is not None:
        rooms = rooms.where(Membership.room_id == room.id)
    return stmt.where(matches, Message.deleted_at.is_(None), live(), Message.room_id.in_(rooms)).order_by(
        best_first, Message.id.desc()
    )
