"""Who may change a message."""

from __future__ import annotations

from app.extensions.api import abort
from app.modules.rooms.models import MANAGERS, Room
from app.modules.users.models import User

from .models import Message


def require_author(message: Message, user: User) -> None:
    if message.author_id != user.id:
        abort(403, "Only the author may edit a message.")


def require_author_or_manager(message: Message, user: User, room: Room) -> None:
    if message.author_id != user.id and room.my_role not in MANAGERS:
        abort(403, "Only the author or the room's owner and admins may delete a message.")
