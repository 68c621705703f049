"""Messages (the rooms module reads them for unread counts and last messages)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    ScalarSelect,
    String,
    Text,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship, with_expression
from sqlalchemy.orm.strategy_options import _AbstractLoad

from app.extensions.columns import UTCDateTime, index_where_set
from app.extensions.database import Base, utcnow
from app.modules.events.models import Event
from app.modules.rooms.models import Room, RoomWithRole, execution_time, within_ttl
from app.modules.users.models import User


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    client_msg_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When its author scheduled it for (it went out then, or at the next start); null if sent at once.
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User | None] = relationship(lazy="joined")
    # Attachment lives in the files module; one extra statement loads them for a whole page.
    attachments: Mapped[list[Any]] = relationship(
        "Attachment", lazy="selectin", order_by="Attachment.id", viewonly=True
    )
    # Filled by the query that loads messages (services.with_reply_counts).
    reply_count: Mapped[int] = query_expression(default_expr=literal(0))
    # The reader's view, [{emoji, count, me}]: filled for a page by reactions.attach (none until then).
    reactions = ()  # type: tuple[()] | list[dict[str, Any]]

    __table_args__ = (
        # History pages and unread counts: (room, id) ranges.
        Index("ix_messages_room_id_id", "room_id", "id"),
        # Retention: a room's expired messages are a range of it (what the sweep deletes).
        Index("ix_messages_room_id_created_at", "room_id", "created_at"),
        # Replies (a thread's page, reply counts): most messages are none.
        index_where_set("ix_messages_parent_id_id", "parent_id", "id"),
        Index("ix_messages_author_id_client_msg_id", "author_id", "client_msg_id", unique=True),
    )

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


class Reaction(Base):
    """One member's emoji on one message; a message's reactions are listed in the order first given."""

    __tablename__ = "reactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    emoji: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # One of each emoji per member (concurrent identical PUTs insert once); a page's counts.
        Index("ix_reactions_message_id_user_id_emoji", "message_id", "user_id", "emoji", unique=True),
        Index("ix_reactions_user_id", "user_id"),
    )


def live(message: Any = Message, *, now: ColumnElement[datetime] | None = None) -> ColumnElement[bool]:
    """Whether `message` is within its room's retention: see `rooms.models.within_ttl`."""
    return within_ttl(message, now=now)


def live_in(room: Room | RoomWithRole) -> ColumnElement[bool]:
    """`live` for messages of one room whose TTL is known: a plain range on (room_id, created_at)."""
    cutoff = room.expiry_cutoff()
    return true() if cutoff is None else Message.created_at > cutoff


@cache
def with_reply_counts() -> _AbstractLoad:
    """Loader option filling `Message.reply_count` (live, unexpired replies) in the same statement.

    Built once: its correlated subquery costs more to build than to run.
    """
    return with_expression(Message.reply_count, live_replies(Message))


def live_replies(parent: Any, ttl: Any = None) -> ScalarSelect[int]:
    """How many live, unexpired replies `parent` has: a subquery correlated with it.

    `parent` is the entity, or a table alias's columns (`.c`) for Core statements; `ttl` is its
    room's `message_ttl_seconds` when the statement has the room at hand (see `within_ttl`).
    """
    reply = Message.__table__.alias("reply")
    return (
        select(func.count(reply.c.id))
        .where(
            reply.c.parent_id == parent.id,
            reply.c.deleted_at.is_(None),
            within_ttl(reply.c, ttl, now=execution_time()),
        )
        .correlate_except(reply)
        .scalar_subquery()
    )


def unexpired_event() -> ColumnElement[bool]:
    """What the events outbox replays: an event that told of a message since expired is not."""
    return or_(~Event.type.startswith("message."), within_ttl(Event))
