"""Account operations: each commits once, and tells other modules through signals."""

from __future__ import annotations

import sys
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from app.extensions.api import abort, paginate_query
from app.extensions.database import db, utcnow
from app.extensions.ratelimit import count_password_attempt
from app.extensions.security import hash_password, verify_password

from .models import User
from .signals import password_changed, profiles_shown, user_created, user_deleted, user_renamed


def get_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username_key == username.lower()))


def get_or_404(user_id: int, caller: User | None = None) -> User:
    """The account with this id, deleted or not: every profile is public, whoever the `caller`."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, "No such user.")
    return user


def get_active_or_404(user_id: int, caller: User | None = None) -> User:
    """The account with this id unless it is deleted: one that can still be acted on (reported)."""
    user = get_or_404(user_id)
    if user.is_deleted:
        abort(404, "No such user.")
    return user


def attach_presence(users: list[User]) -> None:
    """Have each user's `presence` attached (`profiles_shown`) before they are shown as profiles."""
    profiles_shown.send(users)


def create_user(
    username: str,
    password: str,
    *,
    email: str | None = None,
    display_name: str | None = None,
    is_admin: bool = False,
) -> User:
    """Add an account; other modules (rooms: join `general`) act in the same transaction."""
    if get_by_username(username) is not None:
        abort(409, "That username is taken.", errors={"json": {"username": ["Already taken."]}})
    user = User(
        username=username,
        username_key=username.lower(),
        email=email,
        display_name=display_name,
        password_hash=hash_password(password),
        is_admin=is_admin,
    )
    db.session.add(user)
    try:
        db.session.flush()
        user_created.send(user)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        abort(409, "That username is taken.", errors={"json": {"username": ["Already taken."]}})
    return user


def authenticate(username: str, password: str) -> User | None:
    """The user for these credentials, or None; upgrades the hash if its parameters are old.

    Each account name has a budget of wrong passwords: once spent, 429 (`TooManyRequests`).
    """
    attempt = count_password_attempt(username)
    user = get_by_username(username)
    ok, new_hash = verify_password(password, user.password_hash if user else None)
    if not ok or user is None:
        return None
    attempt.succeeded()
    if new_hash:
        user.password_hash = new_hash
        db.session.commit()
    return user


def _require_current_password(user: User, current_password: str | None) -> None:
    if current_password is None:
        abort(
            422,
            "current_password is required for this change.",
            errors={"json": {"current_password": ["Required to change password or email."]}},
        )
    assert user.username_key is not None  # only a deleted account has none, and it signs in no more
    attempt = count_password_attempt(user.username_key)  # the same budget as logging in
    if not verify_password(current_password, user.password_hash)[0]:
        abort(403, "The current password is wrong.")
    attempt.succeeded()


def update_profile(user: User, changes: dict[str, Any], *, token_id: int | None = None) -> User:
    """Apply `changes`, made with the access token `token_id`.

    A new password shuts out whoever knew the old one: every other session of the user ends
    (the auth module revokes their tokens); the session that made the change goes on.
    """
    current_password = changes.pop("current_password", None)
    if "password" in changes or ("email" in changes and changes["email"] != user.email):
        _require_current_password(user, current_password)
    if "password" in changes:
        user.password_hash = hash_password(changes.pop("password"))
        user.session_epoch += 1
        password_changed.send(user, keep_token_id=token_id)
    renamed = "display_name" in changes and changes["display_name"] != user.display_name
    for field, value in changes.items():
        setattr(user, field, value)
    if renamed:
        user_renamed.send(user)
    db.session.commit()
    return user


def delete_account(user: User, current_password: str) -> None:
    """Anonymise the account: the row stays as the author of its messages, shown as deleted."""
    _require_current_password(user, current_password)
    user_deleted.send(user)
    user.username = user.username_key = user.email = user.display_name = None
    user.password_hash = None
    user.deleted_at = utcnow()
    db.session.commit()


def _starts_with(column: Any, prefix: str) -> ColumnElement[bool]:
    """`column` begins with `prefix` (lower-cased), in a form the column's prefix index serves.

    PostgreSQL: LIKE on a `*_pattern_ops` index, right under any collation. SQLite uses no
    index for a case-insensitive LIKE: a range of its BINARY order instead, from the prefix to
    the prefix with its last character moved one up.
    """
    last = ord(prefix[-1])
    if db.session.get_bind().dialect.name == "postgresql" or last == sys.maxunicode:
        return column.startswith(prefix, autoescape=True)
    return and_(column >= prefix, column < prefix[:-1] + chr(last + 1))


def search_page(q: str | None, pagination: Any) -> list[User]:
    """Users by username or display-name prefix, ordered by username; the total is capped.

    Counting every match exactly would read them all on every page: the count stops at
    `USER_SEARCH_TOTAL_LIMIT`, which the header then shows (more pages may follow).
    """
    stmt = select(User).where(User.deleted_at.is_(None)).order_by(User.username_key)
    if q:
        prefix = q.lower()
        stmt = stmt.where(
            or_(_starts_with(User.username_key, prefix), _starts_with(User.display_name_key, prefix))
        )
    cap = current_app.config["USER_SEARCH_TOTAL_LIMIT"]
    matches = stmt.with_only_columns(User.id).order_by(None).limit(cap)
    total = select(func.count()).select_from(matches.subquery())
    return paginate_query(stmt, pagination, total=total)
