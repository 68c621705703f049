"""A message waiting for its `send_at`; the row goes when the message is sent or cancelled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions.columns import UTCDateTime
from app.extensions.database import Base, utcnow
from app.modules.users.models import User

PENDING = "pending"
FAILED = "failed"


class ScheduledMessage(Base):
    __tablename__ = "scheduled_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Deleting the room deletes its pending messages; deleting the account fails them
    # (services._fail_deleted_authors_messages).
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[int | None]
    attachment_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    client_msg_id: Mapped[str | None] = mapped_column(String(64))
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    failure_reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (
        # The scheduler's scan for due messages, and the author's list (a keyset on id).
        Index("ix_scheduled_messages_status_send_at", "status", "send_at"),
        Index("ix_scheduled_messages_author_id_id", "author_id", "id"),
        Index("ix_scheduled_messages_author_id_client_msg_id", "author_id", "client_msg_id", unique=True),
    )
