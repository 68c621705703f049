"""Who may see and do what with accounts."""

from __future__ import annotations

from .models import User


def may_see_email(viewer: User | None, user: User) -> bool:
    """An address is for its owner and for administrators (who moderate), nobody else."""
    return viewer is not None and (viewer.id == user.id or viewer.is_admin)
