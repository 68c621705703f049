"""Rooms and memberships with read markers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    bindparam,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.extensions.columns import UTCDateTime
from app.extensions.database import Base, utcnow
from app.modules.users.models import User

ROOM_KINDS = ("public", "private", "direct")
ROLES = ("owner", "admin", "member")
MANAGERS = ("owner", "admin")


class Room(Base):
    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(16), default="private", index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    message_ttl_seconds: Mapped[int | None] = mapped_column(Integer)
    # "smaller_id:larger_id" for direct rooms: one room per pair, even under concurrent requests.
    direct_key: Mapped[str | None] = mapped_column(String(32), unique=True)
    last_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL", use_alter=True)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    # Kept by the services in the transaction that adds or removes a member (an increment in SQL,
    # so concurrent joins add up): listing rooms never counts a room's members.
    member_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    last_message: Mapped[Any] = relationship("Message", foreign_keys=[last_message_id])
    # Per-caller values, filled by the query that loads the room (see services.rooms_for).
    unread_count: Mapped[int] = query_expression()
    my_role: Mapped[str | None] = query_expression()

    def expiry_cutoff(self) -> datetime | None:
        """Messages created at or before this have expired; None when they never do."""
        return _cutoff(self.message_ttl_seconds)

    @property
    def live_last_message(self) -> Any:
        """The last message, unless past the room's TTL (the sweep may not have removed it yet)."""
        message, cutoff = self.last_message, self.expiry_cutoff()
        return None if message is None or (cutoff is not None and message.created_at <= cutoff) else message


class RoomWithRole:
    """A room as the messages' hot paths check it (`services.get_role_in_or_404`): its name, kind
    and TTL with the caller's role, read as one Core row; an ORM entity cost more than the page's
    own statement, or a send's. Nothing is changed through it."""

    __slots__ = ("id", "kind", "message_ttl_seconds", "my_role", "name")

    def __init__(
        self, id_: int, name: str, kind: str, message_ttl_seconds: int | None, my_role: str | None
    ) -> None:
        self.id, self.name, self.kind = id_, name, kind
        self.message_ttl_seconds, self.my_role = message_ttl_seconds, my_role

    def expiry_cutoff(self) -> datetime | None:
        """As `Room.expiry_cutoff`."""
        return _cutoff(self.message_ttl_seconds)


def _cutoff(ttl_seconds: int | None) -> datetime | None:
    return None if ttl_seconds is None else utcnow() - timedelta(seconds=ttl_seconds)


class _ExpiryCutoff(FunctionElement):
    """`now` minus `ttl` seconds, in SQL: messages created at or before it have expired."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(_ExpiryCutoff, "sqlite")
def _sqlite_cutoff(element: _ExpiryCutoff, compiler: SQLCompiler, **kw: Any) -> str:
    # The text SQLAlchemy stores SQLite timestamps as (ISO, space-separated), to the millisecond.
    now, ttl = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"strftime('%Y-%m-%d %H:%M:%f', {now}, '-' || {ttl} || ' seconds')"


@compiles(_ExpiryCutoff, "postgresql")
def _postgresql_cutoff(element: _ExpiryCutoff, compiler: SQLCompiler, **kw: Any) -> str:
    now, ttl = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({now} - make_interval(secs => {ttl}))"


def execution_time() -> ColumnElement[datetime]:
    """The time a statement runs, not when it was built: for statements built once.

    Not for relationship criteria (`relationship.and_`): SQLAlchemy carries their bound values
    over from its cache without calling this.
    """
    return bindparam(None, callable_=utcnow, type_=UTCDateTime())


def within_ttl(
    row: Any, ttl: Any = None, *, now: ColumnElement[datetime] | None = None
) -> ColumnElement[bool]:
    """Whether `row` (a message, or an event about one) is within its room's `message_ttl_seconds`.

    Expired messages stay until the sweep deletes them, so every query that serves messages
    adds this: a message past its TTL is never served, and a changed TTL applies to the messages
    already there. `row` has `room_id` and `created_at`; `ttl` is the room's column when the
    statement has the room at hand, else the room's row is looked up by primary key. NULL keeps all.
    `now` defaults to the time the expression is built.
    """
    if ttl is None:
        ttl = select(Room.message_ttl_seconds).where(Room.id == row.room_id).scalar_subquery()
    cutoff = _ExpiryCutoff(literal(utcnow(), UTCDateTime()) if now is None else now, ttl)
    return or_(ttl.is_(None), row.created_at > cutoff)


class Membership(Base):
    __tablename__ = "memberships"

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), default="member")
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The newest message this member has read; only ever moves forward.
    last_read_message_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    user: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (Index("ix_memberships_user_id_room_id", "user_id", "room_id"),)
