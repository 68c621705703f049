"""Who may see and do what with accounts."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from app.extensions.api import abort
from app.extensions.auth import current_user
from app.extensions.database import utcnow

from .models import User

T = TypeVar("T")


def may_see_email(viewer: User | None, user: User) -> bool:
    """An address is for its owner and for administrators (who moderate), nobody else."""
    return viewer is not None and (viewer.id == user.id or viewer.is_admin)


def require_not_banned(user: User) -> None:
    """Reports that ban a user stop them putting anything in rooms until the ban ends: 403 saying
    when, also in `X-Banned-Until` for clients to show."""
    if user.banned_until is not None and user.banned_until > utcnow():
        until = user.banned_until.isoformat()
        abort(
            403,
            f"Reports have stopped you putting anything in rooms until {until}.",
            headers={"X-Banned-Until": until},
        )


def unbanned(view: Callable[..., T]) -> Callable[..., T]:
    """The view refuses a banned caller (`require_not_banned`). Placed right above the method,
    below `@blp.arguments` and `@blp.resolve`: a bad body is still a 422, and a room the caller
    may not see still a 404."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        require_not_banned(current_user)
        return view(*args, **kwargs)

    return wrapper
