"""Messages: each change commits once with its outbox event."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Protocol, TypeVar, cast

from flask import current_app
from sqlalchemy import Integer, Select, Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import ratelimit
from app.extensions.api import abort
from app.extensions.columns import UTCDateTime
from app.extensions.database import db, utcnow
from app.extensions.locks import KeyedLocks
from app.extensions.prepared import Prepared
from app.extensions.schemas import DumpedObject
from app.modules.events import throttle
from app.modules.events.broker import announce
from app.modules.events.services import record
from app.modules.files import services as files
from app.modules.rooms.models import Membership, Room, RoomWithRole
from app.modules.users.models import Caller, User

from . import reactions
from .models import Message, live, live_in, with_reply_counts
from .schemas import AuthorSchema, MessageSchema, shown_message

SWEEP_BATCH = 500  # expired messages deleted per transaction
_ROOM_TURNS = KeyedLocks()  # this process's senders, by room (`_turn_in_room`)


# Made once: a schema's construction (copying its fields, then its nested schemas' on first
# dump) costs more than dumping a message. Dumping keeps no state between calls.
MESSAGE_SCHEMA, AUTHOR_SCHEMA = MessageSchema(), AuthorSchema()


class _InRoom(Protocol):
    @property
    def room_id(self) -> int: ...


Sent = TypeVar("Sent", bound=_InRoom)  # a Message, or a message waiting for its time (the scheduled module's)


def _event(type_: str, message: Message) -> None:
    """The message as shown; an edited one carries its reactions as streams render them (reactors)."""
    data = MESSAGE_SCHEMA.dump(message)
    if type_ == "message.updated":
        data["reactions"] = reactions.reactors(message.id)
    record(type_, data, room_id=message.room_id)


def announce_typing(room: Room, user: User) -> None:
    """`typing` to the room's streams: never stored or replayed; clients drop it after `expires_in` s.

    A banned user puts nothing in a room, not even this. A client that says it more than once
    per `TYPING_THROTTLE_SECONDS` and room is answered as usual, and the repeats are dropped.
    """
    if not throttle.first_in(f"typing:{user.id}:{room.id}", current_app.config["TYPING_THROTTLE_SECONDS"]):
        return
    data = {
        "room_id": room.id,
        "user": AUTHOR_SCHEMA.dump(user),
        "expires_in": current_app.config["TYPING_SECONDS"],
    }
    announce("typing", data, room_ids=[room.id])


def _messages() -> Select:
    return select(Message).options(with_reply_counts())


def get_or_404(room: Room | RoomWithRole, message_id: int) -> Message:
    """A message of `room` that is neither gone nor past the room's TTL."""
    message = db.session.scalar(
        _messages().where(Message.id == message_id, Message.room_id == room.id, live_in(room))
    )
    if message is None:
        abort(404, "No such message in this room.")
    return message


def first_with_client_id(author: User | Caller, client_msg_id: str) -> Message | None:
    return db.session.scalar(
        _messages().where(Message.author_id == author.id, Message.client_msg_id == client_msg_id)
    )


def repeat(room_id: int, message: Sent) -> Sent:
    """What a repeated `client_msg_id` answers: the first message (or scheduled one), if in this
    room and not expired; else 409."""
    if message.room_id != room_id:
        abort(
            409,
            "This client_msg_id was already used for a message in another room.",
            errors={"json": {"client_msg_id": ["Already used in another room."]}},
        )
    expired = isinstance(message, Message) and (
        db.session.scalar(select(Message.id).where(Message.id == message.id, live())) is None
    )
    if expired:
        abort(
            409,
            "This client_msg_id was already used for a message that has expired.",
            errors={"json": {"client_msg_id": ["Already used for an expired message."]}},
        )
    return message


def is_reply_target(room_id: int, parent_id: int | None) -> bool:
    """No parent, or a live message of the same room."""
    if parent_id is None:
        return True
    parent = db.session.scalar(select(Message).where(Message.id == parent_id, live()))
    return parent is not None and parent.room_id == room_id and not parent.deleted


def require_reply_target(room_id: int, parent_id: int | None) -> None:
    if not is_reply_target(room_id, parent_id):
        abort(
            422,
            "Replies go to a live message of the same room.",
            errors={"json": {"parent_id": ["No such message in this room."]}},
        )


_SENT_COLUMNS = ("author_id", "body", "parent_id", "client_msg_id", "created_at", "send_at")


@cache
def _insert_locking_room() -> Prepared:
    """INSERT the message … SELECT from its room's row, locked: one round trip, compiled once.

    The room's row is held until commit, so its messages' ids follow their commit order. An
    id is drawn at INSERT, but transactions commit in any order: without this a reader
    following history with `after=<newest id seen>` (or a read marker) would skip a message
    whose transaction committed after a newer id's. The SELECT takes the lock before the
    INSERT draws the id; FOR NO KEY UPDATE queues the room's senders and leaves foreign-key
    checks (FOR KEY SHARE) of other tables free; the outbox's commit-order lock is taken after
    it, never before. SQLite has no row locks and needs none: its first write takes the
    database's write lock. A room deleted meanwhile yields no row (and no message).
    """
    rooms, messages = cast(Table, Room.__table__), cast(Table, Message.__table__)
    values = [bindparam(name, type_=messages.c[name].type) for name in _SENT_COLUMNS]
    room = (
        select(rooms.c.id, *values)
        .where(rooms.c.id == bindparam("room", type_=Integer))
        .with_for_update(key_share=True)
    )
    return Prepared(insert(messages).from_select(["room_id", *_SENT_COLUMNS], room).returning(messages.c.id))


@cache
def _room_and_marker_moved() -> tuple[Prepared, Prepared]:
    """The room's newest message and activity; the sender's read marker at it: compiled once."""
    rooms, memberships = cast(Table, Room.__table__), cast(Table, Membership.__table__)
    message_id = bindparam("message_id", type_=Integer)
    room = (
        update(rooms)
        .where(rooms.c.id == bindparam("room", type_=Integer))
        .values(last_message_id=message_id, last_activity_at=bindparam("sent_at", type_=UTCDateTime()))
    )
    marker = (
        update(memberships)
        .where(memberships.c.room_id == bindparam("room"), memberships.c.user_id == bindparam("author"))
        .values(last_read_message_id=message_id)
    )
    return Prepared(room), Prepared(marker)


def _shown_sent(room_id: int, author: User | Caller, message_id: int, values: dict[str, Any]) -> DumpedObject:
    """A message just sent without files as `MessageSchema` shows it (`shown_message`), from what its
    INSERT wrote: no ORM object, and one dump for its event and its answer. It has no replies,
    reactions or edit yet."""
    send_at = values["send_at"]
    row = (  # SHOWN_MESSAGE_ROW's order
        message_id,
        author.id,
        values["body"],
        values["parent_id"],
        0,  # replies
        values["created_at"].isoformat(),
        None,  # edited_at
        None if send_at is None else send_at.isoformat(),
        False,  # deleted
        author.username,
        author.display_name,
        author.is_deleted,
    )
    return DumpedObject(shown_message(room_id, row))


def _shown_sent_with_files(
    room_id: int, author: User | Caller, message_id: int, values: dict[str, Any], attachment_ids: list[int]
) -> DumpedObject:
    """A message just sent, its files attached: made one of the session's as if loaded (the files
    are linked to it, and it is shown with them); its author the session's `User`."""
    message = Message(id=message_id, room_id=room_id, **values, edited_at=None, deleted_at=None)
    writer = author if isinstance(author, User) else author.entity()
    set_committed_value(message, "author", writer)
    set_committed_value(message, "reply_count", 0)
    make_transient_to_detached(message)
    db.session.add(message)
    files.attach(message, writer, attachment_ids)
    return DumpedObject(MESSAGE_SCHEMA.dump(message))


def _written(room_id: int, values: dict[str, Any]) -> int | None:
    """The message INSERTed in Core (the ORM's flush machinery cost more than the statements), its
    id; None if the room is gone. `values` gets its time."""
    values["created_at"] = utcnow()
    connection = db.session.connection()  # the transaction's: its statements need no ORM execution
    inserted = _insert_locking_room().rows(connection, {"room": room_id, **values})
    if not inserted:
        return None
    message_id: int = inserted[0][0]
    # The room's newest message; and what you wrote yourself is not unread for you, on any device.
    moved = {
        "room": room_id,
        "author": values["author_id"],
        "message_id": message_id,
        "sent_at": values["created_at"],
    }
    for statement in _room_and_marker_moved():
        statement.run(connection, moved)
    return message_id


@contextmanager
def _turn_in_room(room_id: int, *, release: bool) -> Iterator[None]:
    """This process's turn to write to the room: wait for it holding no pooled connection.

    A room's senders queue on its row lock (`_insert_locking_room`), each on a pooled connection:
    two hundred senders in one room took every connection, and reads got 503 (bench/soak.py on
    PostgreSQL). So the senders of one process take turns here first, with the read-only
    transaction of their checks ended (`release`: its connection goes back to the pool, and
    `expire_on_commit` is off, so what was read stays loaded): at most one connection per
    process and room waits in the database, and the others serve reads meanwhile. A sender
    that finds the room free keeps its connection: handing it back and taking it again cost
    a commit and two trips through the pool, for nothing.
    """
    # Nothing written yet: the commit only hands the connection back.
    with _ROOM_TURNS.holding(room_id, before_waiting=db.session.commit if release else None):
        yield


def send_message(
    room: Room | RoomWithRole,
    author: User | Caller,
    *,
    body: str,
    parent_id: int | None = None,
    client_msg_id: str | None = None,
    attachment_ids: list[int] | None = None,
    send_at: datetime | None = None,
) -> tuple[Message | DumpedObject, bool]:
    """Post a message; returns it and whether it is new. A new one comes as shown (its event's
    data); a repeated `client_msg_id` gives the first message itself, for its reactions to be read.

    `send_at`: the time it was scheduled for, when the scheduler sends it. Its transaction has
    already claimed the pending row, so it keeps its connection while it waits for the room; a
    client's send has only read until then, and waits with none (`_turn_in_room`).
    """
    room_id = room.id  # still readable after a rollback has expired `room`
    if client_msg_id and (first := first_with_client_id(author, client_msg_id)) is not None:
        return repeat(room_id, first), False
    require_reply_target(room_id, parent_id)
    values = {
        "author_id": author.id,
        "body": body,
        "parent_id": parent_id,
        "client_msg_id": client_msg_id,
        "send_at": send_at,
    }
    with _turn_in_room(room_id, release=send_at is None):
        ratelimit.count_in_transaction()
        try:
            message_id = _written(room_id, values)
        except IntegrityError:  # the same client_msg_id, sent concurrently, won the race
            db.session.rollback()
            first = first_with_client_id(author, client_msg_id) if client_msg_id else None
            if first is None:  # not the client_msg_id's unique index: nothing to answer with
                raise
            return repeat(room_id, first), False
        if message_id is None:
            abort(404, "No such room.")
        if attachment_ids:
            shown = _shown_sent_with_files(room_id, author, message_id, values, attachment_ids)
        else:
            shown = _shown_sent(room_id, author, message_id, values)
        record("message.created", shown, room_id=room_id)
        record("read.updated", {"room_id": room_id, "last_read_message_id": message_id}, user_id=author.id)
        db.session.commit()
    return shown, True


def edit_message(message: Message, body: str, *, by: User) -> Message:
    """Replace the text (the author's call); a ban stops editing as it stops posting."""
    if message.deleted:
        abort(409, "A deleted message cannot be edited.")
    message.body = body
    message.edited_at = utcnow()
    _event("message.updated", message)
    db.session.commit()
    return _reloaded(message)


def _reloaded(message: Message) -> Message:
    """The message again with its reply count (an UPDATE's flush drops computed values)."""
    return db.session.scalar(
        _messages().where(Message.id == message.id).execution_options(populate_existing=True)
    )


def delete_message(message: Message) -> None:
    """Leave a tombstone: the row stays in history; its text and its files are erased."""
    if message.deleted:
        return
    message.body = ""
    message.deleted_at = utcnow()
    reactions.forget(message)
    files.detach(select(Message.id).where(Message.id == message.id))
    set_committed_value(message, "attachments", [])  # the bulk delete does not touch loaded lists
    _event("message.deleted", message)
    db.session.commit()


def _sweep_batch(room_id: int, cutoff: datetime) -> int:
    """Delete up to SWEEP_BATCH of the room's messages created at or before `cutoff`; one commit.

    Their files leave the disk at commit; the search index drops their rows by trigger
    (SQLite) or with them (PostgreSQL). Replies outlive their parent (each expires by its own
    age) and their `parent_id` becomes null; a room whose last message goes has none until the
    next one. Read markers are plain ids: one at a deleted message still counts what follows it.
    """
    ids = list(
        db.session.scalars(
            select(Message.id)
            .where(Message.room_id == room_id, Message.created_at <= cutoff)
            .order_by(Message.created_at)
            .limit(SWEEP_BATCH)
        )
    )
    if ids:
        files.detach(select(Message.id).where(Message.id.in_(ids)))
        db.session.execute(update(Room).where(Room.last_message_id.in_(ids)).values(last_message_id=None))
        db.session.execute(update(Message).where(Message.parent_id.in_(ids)).values(parent_id=None))
        db.session.execute(delete(Message).where(Message.id.in_(ids)))
    db.session.commit()
    return len(ids)


def sweep_expired() -> int:
    """Delete the messages past their room's TTL (the job `messages.sweep_expired`).

    Queries already hide them (`models.live`): this reclaims the space, in batches on the
    (room_id, created_at) index so that no transaction holds a room's writers for long. No
    event is sent: clients drop expired messages themselves from `message_ttl_seconds`.
    """
    swept = 0
    ttls = db.session.execute(
        select(Room.id, Room.message_ttl_seconds).where(Room.message_ttl_seconds.is_not(None))
    ).all()
    for room_id, ttl in ttls:
        assert ttl is not None  # selected so
        cutoff = utcnow() - timedelta(seconds=ttl)
        while (count := _sweep_batch(room_id, cutoff)) > 0:
            swept += count
            if count < SWEEP_BATCH:
                break
    return swept
