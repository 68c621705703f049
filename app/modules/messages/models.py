"""Messages (the rooms module reads them for unread counts and last messages)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, func, literal, select
from sqlalchemy.orm import Mapped, aliased, mapped_column, query_expression, relationship, with_expression

from app.extensions.database import UTCDateTime, db, utcnow
from app.modules.users.models import User


class Message(db.Model):
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

    __table_args__ = (
        # History pages and unread counts: (room, id) ranges.
        Index("ix_messages_room_id_id", "room_id", "id"),
        Index("ix_messages_parent_id_id", "parent_id", "id"),
        Index("ix_messages_author_id_client_msg_id", "author_id", "client_msg_id", unique=True),
    )

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


def with_reply_counts() -> object:
    """Loader option filling `Message.reply_count` (live replies) in the same statement."""
    reply = aliased(Message)
    count = (
        select(func.count(reply.id))
        .where(reply.parent_id == Message.id, reply.deleted_at.is_(None))
        .correlate(Message)
        .scalar_subquery()
    )
    return with_expression(Message.reply_count, count)
