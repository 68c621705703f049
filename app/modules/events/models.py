"""The outbox: every change clients must hear about, written in the transaction that makes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions.database import UTCDateTime, db, utcnow


class Event(db.Model):
    __tablename__ = "events"

    # Monotonic: clients resume a stream from the last id they saw.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    # The room it concerns (its members hear it), and/or the user it concerns (they hear it).
    room_id: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_events_room_id_id", "room_id", "id"),
        Index("ix_events_user_id_id", "user_id", "id"),
    )
