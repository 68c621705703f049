"""The user account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, false
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions.database import UTCDateTime, db, utcnow

USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{3,32}$"


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Null once the account is deleted: the row stays so messages keep an author.
    username: Mapped[str | None] = mapped_column(String(32))
    # Lower-cased username: case-insensitive uniqueness and prefix search on every engine.
    username_key: Mapped[str | None] = mapped_column(String(32), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    display_name: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def get_user_id(self) -> int:
        """Authlib's name for the id."""
        return self.id

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"
