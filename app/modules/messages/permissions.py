"""Who may change a message of a room (the caller is a member: `rooms.permissions.is_member`)."""

from __future__ import annotations

from typing import Any

from app.extensions.api import permission
from app.modules.rooms.models import MANAGERS, Room

from .models import Message


@permission("Only the author may edit a message.")
def is_author(message: Message, user: Any, room: Room) -> bool:
    return message.author_id == user.id


@permission("Only the author or the room's owner and admins may delete a message.")
def is_author_or_manager(message: Message, user: Any, room: Room) -> bool:
    return message.author_id == user.id or room.my_role in MANAGERS
