"""The outbox of changes, who could see them, and the tickets that open a stream."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions.columns import UTCDateTime, index_where_set
from app.extensions.database import Base, utcnow

EventId = BigInteger().with_variant(Integer, "sqlite")


class Event(Base):
    """One change, written in the transaction that makes it.

    Ids grow in commit order (see `services.record`), so a client resumes a stream
    from the last id it saw and misses nothing.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(EventId, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    # The room it concerns (its members, or only its managers, hear it) and/or the user it concerns.
    room_id: Mapped[int | None] = mapped_column(Integer)
    audience: Mapped[str] = mapped_column(String(16), default="members", server_default="members")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    __table_args__ = (
        index_where_set("ix_events_room_id_id", "room_id", "id"),
        index_where_set("ix_events_user_id_id", "user_id", "id"),
        # Never reuse an id, even once the newest events are purged: clients and hubs hold them.
        {"sqlite_autoincrement": True},
    )


class MembershipSpan(Base):
    """The events of a room one user may see: from the one that added them to the one that removed them.

    Memberships are deleted when people leave; spans stay (until the events they cover
    are purged), so a replay shows each user exactly what they were there for.
    """

    __tablename__ = "membership_spans"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(Integer)
    first_event_id: Mapped[int] = mapped_column(EventId)
    last_event_id: Mapped[int | None] = mapped_column(EventId)

    __table_args__ = (Index("ix_membership_spans_user_id_room_id", "user_id", "room_id"),)


class StreamTicket(Base):
    """A short-lived, single-use credential for `EventSource`, which cannot send headers."""

    __tablename__ = "stream_tickets"

    ticket_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The access token that asked for it: the stream it opens lives as long as that token.
    token_id: Mapped[int] = mapped_column(ForeignKey("oauth2_tokens.id", ondelete="CASCADE"))
