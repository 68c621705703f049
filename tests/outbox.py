"""Reading the outbox (the `events` table) directly, for tests of what a change records."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.modules.events.models import Event

FIELDS = ("type", "room_id", "data")


def last_event_id(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(Event.id))) or 0


def events_since(app: Flask, mark: int, fields: tuple[str, ...] = FIELDS) -> list[tuple[Any, ...]]:
    """`fields` of every event recorded after `mark`, oldest first."""
    with app.app_context():
        rows = db.session.scalars(select(Event).where(Event.id > mark).order_by(Event.id))
        return [tuple(getattr(event, name) for name in fields) for event in rows]


def sending(message: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What sending `message` records: the message, then its author's read marker moved to it."""
    read = {"room_id": message["room_id"], "last_read_message_id": message["id"]}
    return [("message.created", message["room_id"], message), ("read.updated", None, read)]
