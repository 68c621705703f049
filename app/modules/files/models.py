"""Uploaded files: stored on disk under random names, attached to at most one message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions.columns import UTCDateTime
from app.extensions.database import Base, utcnow


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    # The file's name on disk: random, never derived from what the user sent.
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Kept past the unattached-upload TTL while a scheduled message still means to attach it.
    reserved_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Unattached uploads by age: the purge job's range scan.
    __table_args__ = (Index("ix_attachments_message_id_created_at", "message_id", "created_at"),)
