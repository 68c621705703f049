"""Reactions: members' emoji on messages, counted per page and announced with `reaction.updated`."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Integer, Select, bindparam, case, delete, exists, func, select

from app.extensions.api import abort
from app.extensions.database import db, insert_if_absent, rows_changed, utcnow
from app.modules.events.services import record
from app.modules.users.models import User

from .models import Message, Reaction


@cache
def _counts() -> Select:
    """Per message and emoji of `ids`: the count and whether `viewer` gave it. Built once: its
    building cost more than running it."""
    return (
        select(
            Reaction.message_id,
            Reaction.emoji,
            func.count(),
            func.max(case((Reaction.user_id == bindparam("viewer", type_=Integer), 1), else_=0)),
        )
        .where(Reaction.message_id.in_(bindparam("ids", expanding=True, type_=Integer)))
        .group_by(Reaction.message_id, Reaction.emoji)
        .order_by(func.min(Reaction.id))
    )


def given_any(message_id: ColumnElement[int]) -> ColumnElement[bool]:
    """Whether the message `message_id` has reactions: a page counts them (`attach`) only then."""
    return exists().where(Reaction.__table__.c.message_id == message_id)


def attach(messages: Iterable[Any], viewer: User) -> None:
    """Fill each message's `reactions` as `viewer` sees them: one statement for a whole page.

    Messages are `Message`s (or objects with their `id`, `deleted` and `reactions`); None stands
    for a room's missing last message and is passed over.
    Grouped by message and emoji, the counts and the viewer's own (`me`) come together,
    each message's emoji in the order they were first given.
    """
    by_id = {message.id: message for message in messages if message is not None and not message.deleted}
    for message_id, reactions in shown(by_id, viewer).items():
        by_id[message_id].reactions = reactions


def shown(message_ids: Collection[int], viewer: User) -> dict[int, list[dict[str, Any]]]:
    """Each message's reactions as `viewer` sees them (see `attach`): one statement, none for no ids."""
    if not message_ids:
        return {}
    rows = db.session.execute(_counts(), {"ids": list(message_ids), "viewer": viewer.id})
    found: dict[int, list[dict[str, Any]]] = {message_id: [] for message_id in message_ids}
    for message_id, emoji, count, mine in rows:
        found[message_id].append({"emoji": emoji, "count": count, "me": bool(mine)})
    return found


def reactors(message_id: int) -> list[dict[str, Any]]:
    """The message's reactions for the event log: who gave each (`user_ids`, sorted), never shown.

    A stream turns `user_ids` into each receiver's own `me` (events.streams), so one stored
    event serves every member, and a replay shows what was true when it happened.
    """
    given: dict[str, list[int]] = {}
    rows = db.session.execute(
        select(Reaction.emoji, Reaction.user_id)
        .where(Reaction.message_id == message_id)
        .order_by(Reaction.id)
    )
    for emoji, user_id in rows:
        given.setdefault(emoji, []).append(user_id)
    return [{"emoji": e, "count": len(ids), "user_ids": sorted(ids)} for e, ids in given.items()]


def _lock(message: Message) -> bool:
    """Hold the message's row until commit, so its reactions change one transaction at a time.

    Returns whether the message is still live. So the counts each `reaction.updated` carries
    are those its commit leaves, and the per-member ceiling holds under concurrent requests.
    FOR NO KEY UPDATE leaves replies' foreign-key checks free. SQLite needs nothing: its first
    write takes the database's lock.
    """
    row = db.session.execute(
        select(Message.deleted_at).where(Message.id == message.id).with_for_update(key_share=True)
    ).first()
    if row is None:  # its room was deleted, or its time ran out, since it was read
        db.session.rollback()
        abort(404, "No such message in this room.")
    return row.deleted_at is None


def _event(message: Message) -> None:
    data = {"room_id": message.room_id, "message_id": message.id, "reactions": reactors(message.id)}
    record("reaction.updated", data, room_id=message.room_id)


def add_reaction(message: Message, user: User, emoji: str) -> bool:
    """Give `emoji` to the message; whether it is new (a repeat changes nothing and tells no one)."""
    if not _lock(message):
        db.session.rollback()
        abort(409, "A deleted message takes no reactions.")
    values = {"message_id": message.id, "user_id": user.id, "emoji": emoji, "created_at": utcnow()}
    if not insert_if_absent(Reaction, **values):
        db.session.commit()  # frees the lock; a rollback would expire the loaded message
        return False
    most = current_app.config["MAX_REACTIONS_PER_MESSAGE"]
    held = db.session.scalar(
        select(func.count()).where(Reaction.message_id == message.id, Reaction.user_id == user.id)
    )
    if held > most:
        db.session.rollback()
        abort(409, f"You may give at most {most} different reactions to one message.")
    _event(message)
    db.session.commit()
    return True


def remove_reaction(message: Message, user: User, emoji: str) -> None:
    """Take back the caller's `emoji` (404 if they never gave it)."""
    _lock(message)  # a deleted message has no reactions left to remove: 404 below
    removed = rows_changed(
        delete(Reaction).where(
            Reaction.message_id == message.id, Reaction.user_id == user.id, Reaction.emoji == emoji
        )
    )
    if not removed:
        db.session.rollback()
        abort(404, "You have not reacted to this message with this emoji.")
    _event(message)
    db.session.commit()


def forget(message: Message) -> None:
    """A deleted message's reactions go with its text (in the caller's transaction)."""
    db.session.execute(delete(Reaction).where(Reaction.message_id == message.id))
