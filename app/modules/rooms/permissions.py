"""Who may do what in a room, as the 403s of `@blp.resolve`.

A room you may not see does not exist for you: `services.get_visible_or_404` answers 404 (`can_see`)
before any of these is asked.
"""

from __future__ import annotations

from typing import Any

from app.extensions.api import permission

from .models import MANAGERS, Membership, Room, RoomWithRole


def can_see(room: Room | RoomWithRole) -> bool:
    return room.my_role is not None or room.kind == "public"


@permission("Join this room first.")
def is_member(room: Room | RoomWithRole, user: Any) -> bool:
    """A public room's outsider sees it, and learns here that they must join."""
    return room.my_role is not None


@permission("Only the room's owner and admins may do this.")
def _manages(room: Room, user: Any) -> bool:
    return room.my_role in MANAGERS


@permission("Only the room's owner may do this.")
def _owns(room: Room, user: Any) -> bool:
    return room.my_role == "owner"


@permission("Direct rooms cannot be changed.")
def _changeable(room: Room, user: Any) -> bool:
    return room.kind != "direct"


@permission("Direct rooms have exactly two members.")
def can_grow(room: Room, user: Any) -> bool:
    """Checked here once, for members added by hand and by invite alike."""
    return room.kind != "direct"


@permission("Only public rooms can be joined without an invite.")
def is_public(room: Room, user: Any) -> bool:
    return room.kind == "public"


is_manager = is_member & _manages
is_owner = is_member & _owns
may_change = is_manager & _changeable
may_add_members = is_member & can_grow


@permission("Only the room's owner and admins may do this.")
def _leaves_or_manages(member: Membership, user: Any, room: Room) -> bool:
    return member.user_id == user.id or room.my_role in MANAGERS


@permission("Only the owner may remove an admin, and nobody may remove the owner.")
def _leaves_or_outranks(member: Membership, user: Any, room: Room) -> bool:
    outranked = member.role == "member" or (member.role == "admin" and room.my_role == "owner")
    return member.user_id == user.id or outranked


# Leave (yourself), or remove a member: the owner anyone but themselves, an admin plain members.
may_remove = _leaves_or_manages & _leaves_or_outranks
