"""Who may moderate."""

from __future__ import annotations

from typing import Any

from app.extensions.api import permission
from app.modules.users.models import User


@permission("Only administrators may do this.")
def administers(target: Any, caller: User) -> bool:
    """Administrators (made by `invoke app.users.create --admin`) moderate, whoever the `target`."""
    return caller.is_admin
