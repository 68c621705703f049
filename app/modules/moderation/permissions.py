"""Who may moderate."""

from __future__ import annotations

from app.extensions.api import abort
from app.modules.users.models import User


def require_admin(user: User) -> None:
    """Administrators (made by `invoke app.users.create --admin`) moderate; nobody else may."""
    if not user.is_admin:
        abort(403, "Only administrators may do this.")
