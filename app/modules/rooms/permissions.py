"""Who may see and do what in a room. A room you may not see does not exist for you (404)."""

from __future__ import annotations

from app.extensions.api import abort

from .models import MANAGERS, Room


def can_see(room: Room) -> bool:
    return room.my_role is not None or room.kind == "public"


def require_member(room: Room) -> None:
    """Members only; a public room's outsider learns they must join (403), others never see it."""
    if room.my_role is None:
        abort(403, "Join this room first.")


def require_manager(room: Room) -> None:
    require_member(room)
    if room.my_role not in MANAGERS:
        abort(403, "Only the room's owner and admins may do this.")


def require_owner(room: Room) -> None:
    require_member(room)
    if room.my_role != "owner":
        abort(403, "Only the room's owner may do this.")
