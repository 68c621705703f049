"""The user account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, cast

from sqlalchemy import Boolean, Index, Integer, String, false
from sqlalchemy.orm import Mapped, make_transient_to_detached, mapped_column, validates
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions.columns import UTCDateTime
from app.extensions.database import Base, db, utcnow

USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{3,32}$"


@dataclass(frozen=True)
class PresenceState:
    """Whether a user is online (a stream or long-poll of theirs is open), and when last seen."""

    online: bool
    last_seen_at: datetime | None  # now while online; None if not seen since the servers started


class User(Base):
    __tablename__ = "users"
    __allow_unmapped__ = True  # for `presence`, which is not a column

    id: Mapped[int] = mapped_column(primary_key=True)
    # Null once the account is deleted: the row stays so messages keep an author.
    username: Mapped[str | None] = mapped_column(String(32))
    # Lower-cased username: case-insensitive uniqueness and prefix search on every engine.
    username_key: Mapped[str | None] = mapped_column(String(32), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    display_name: Mapped[str | None] = mapped_column(String(64))
    # Lower-cased display name, set with it: what prefix search reads through an index.
    display_name_key: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Reports by enough distinct users stop this user posting until then.
    banned_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A password change moves it on: tokens issued under an earlier one are dead, even one
    # issued by a request that raced the change (it read the old value).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Reports filed before this (the start of the last ban, or its lifting) count towards no new ban.
    reports_count_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Not stored: attached for the request that shows it (`signals.profiles_shown`), by the module
    # that tracks streams, which builds on users.
    presence: PresenceState | None = None

    __table_args__ = (
        # Prefix search (services.search_page): LIKE on PostgreSQL needs pattern ops under any
        # collation; SQLite reads ranges of the plain index.
        Index(
            "ix_users_username_key_prefix",
            "username_key",
            postgresql_ops={"username_key": "varchar_pattern_ops"},
        ),
        Index(
            "ix_users_display_name_key_prefix",
            "display_name_key",
            postgresql_ops={"display_name_key": "varchar_pattern_ops"},
        ),
    )

    @validates("display_name")
    def _keep_display_name_key(self, _: str, display_name: str | None) -> str | None:
        self.display_name_key = display_name.lower() if display_name is not None else None
        return display_name

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def get_user_id(self) -> int:
        """Authlib's name for the id."""
        return self.id

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"


@dataclass(frozen=True)
class Caller:
    """The user a request acts as, read in the bearer check's own statement: what routes and
    answers read of the caller, built without the ORM (whose loading of the token and its user
    was most of what an authenticated request cost).

    Any other attribute is read from the `User` itself, loaded (by its id) on first use; a service
    that changes the user, or hands it to a relationship, takes `entity()`. Frozen, so that a
    change made to it instead fails loudly rather than being lost.
    """

    # The columns read with the token (auth's bearer statement), in this order.
    COLUMNS: ClassVar[tuple[Any, ...]] = (
        User.id,
        User.username,
        User.display_name,
        User.email,
        User.is_admin,
        User.created_at,
        User.banned_until,
    )

    id: int
    username: str
    display_name: str | None
    email: str | None
    is_admin: bool
    created_at: datetime
    banned_until: datetime | None
    # A deleted user's tokens grant nothing (auth's `grants_access`): no caller is deleted.
    is_deleted: ClassVar[bool] = False

    def entity(self) -> User:
        """The user as an ORM object of the request's session: its identity map's, or made from
        the columns the bearer check read, in the same transaction, as a query would have loaded
        them (no SELECT: sending a message loaded its author for the relationship). Its other
        columns load on first use; it is not deleted (a deleted user's tokens grant nothing)."""
        session = db.session()
        if (known := session.identity_map.get(session.identity_key(User, self.id))) is not None:
            return cast(User, known)
        user = User()
        for column in self.COLUMNS:
            set_committed_value(user, column.key, getattr(self, column.key))
        set_committed_value(user, "deleted_at", None)
        make_transient_to_detached(user)
        session.add(user)
        return user

    def get_user_id(self) -> int:
        """Authlib's name for the id."""
        return self.id

    def __getattr__(self, name: str) -> Any:
        """The rest of the user, from the entity; never a private name (SQLAlchemy's instance state:
        handing a caller to a relationship must fail, not pass as the entity by accident)."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.entity(), name)
