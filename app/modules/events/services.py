"""Recording events: the only way a change reaches the event streams."""

from __future__ import annotations

from typing import Any

from app.extensions.database import db

from .models import Event


def record(
    type_: str, data: dict[str, Any], *, room_id: int | None = None, user_id: int | None = None
) -> Event:
    """Add an event to the caller's transaction; it exists exactly when the change commits."""
    event = Event(type=type_, data=data, room_id=room_id, user_id=user_id)
    db.session.add(event)
    return event
