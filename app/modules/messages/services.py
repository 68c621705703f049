"""Sending messages (the full messages API comes with the messages issue)."""

from __future__ import annotations

from sqlalchemy import update

from app.extensions.database import db, utcnow
from app.modules.rooms.models import Membership, Room
from app.modules.users.models import User

from .models import Message


def post_message(room: Room, author: User, body: str) -> Message:
    """Store a message and move the room's activity forward; commits."""
    message = Message(room_id=room.id, author_id=author.id, body=body)
    db.session.add(message)
    room.last_activity_at = utcnow()
    db.session.flush()
    room.last_message_id = message.id
    # What you wrote yourself is not unread for you.
    db.session.execute(
        update(Membership)
        .where(Membership.room_id == room.id, Membership.user_id == author.id)
        .values(last_read_message_id=message.id)
    )
    db.session.commit()
    return message
