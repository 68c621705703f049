"""History pages (a room's, or a message's replies): the API's most read answer, read as Core rows.

A page of ORM entities cost more CPU in SQLAlchemy's loading (identity map, instance state,
the joined author) than everything else the request did; a page needs none of it, since
nothing on it is changed or lazily loaded. So the page is one Core statement, built once,
whose rows carry what `MessageSchema` shows (author and reply count joined in) and whether
each message has reactions or files: those statements run only for a page that has any.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Integer, bindparam, func, select

from app.extensions.api import Timeline
from app.extensions.database import UTCDateTime
from app.modules.files import services as files
from app.modules.rooms.models import RoomWithRole
from app.modules.users.models import User

from . import reactions
from .models import Message


class ShownAuthor:
    """A message's author as a page shows it (`AuthorSchema`), read from the page's row."""

    __slots__ = ("display_name", "id", "is_deleted", "username")

    def __init__(self, id_: int, username: str, display_name: str | None, deleted: Any) -> None:
        self.id, self.username, self.display_name = id_, username, display_name
        self.is_deleted = bool(deleted)


class ShownMessage:
    """A message of a page: the attributes `MessageSchema` reads of a `Message`, from one row.

    The row is unpacked by position: reading a `Row`'s fields by name cost about as much as
    dumping them.
    """

    __slots__ = (
        "attachments",
        "author",
        "body",
        "created_at",
        "deleted",
        "edited_at",
        "has_files",
        "has_reactions",
        "id",
        "parent_id",
        "reactions",
        "reply_count",
        "room_id",
        "send_at",
    )
    id: int
    has_files: bool
    has_reactions: bool

    def __init__(self, row: Sequence[Any]) -> None:
        (
            self.id,
            self.room_id,
            self.body,
            self.parent_id,
            self.created_at,
            self.edited_at,
            self.send_at,
            deleted,
            self.reply_count,
            self.has_reactions,
            self.has_files,
            *author,
        ) = row
        self.deleted = bool(deleted)
        self.author = None if author[0] is None else ShownAuthor(*author)
        self.attachments: list[Any] = []
        self.reactions: list[dict[str, Any]] = []


@cache
def _timeline(by_parent: bool, expiring: bool) -> Timeline:
    """A room's history (or a message's replies), with or without a TTL cutoff: built once each.

    Replies are in their parent's room, so the room's cutoff also keeps expired replies out of
    `reply_count` (what `models.with_reply_counts` finds through each reply's room).
    """
    message, author = Message.__table__.c, User.__table__.c
    reply = Message.__table__.alias("reply")
    cutoff = bindparam("cutoff", type_=UTCDateTime())
    counted = select(func.count()).where(reply.c.parent_id == message.id, reply.c.deleted_at.is_(None))
    scope = (message.parent_id if by_parent else message.room_id) == bindparam("scope_id", type_=Integer)
    if expiring:
        counted = counted.where(reply.c.created_at > cutoff)
        scope &= message.created_at > cutoff
    rows = select(  # in the order ShownMessage unpacks them
        *(
            message[name]
            for name in ("id", "room_id", "body", "parent_id", "created_at", "edited_at", "send_at")
        ),
        message.deleted_at.is_not(None),
        counted.scalar_subquery(),
        reactions.given_any(message.id),
        files.carries_any(message.id),
        message.author_id,
        author.username,
        author.display_name,
        author.deleted_at.is_not(None),
    ).outerjoin(User.__table__, author.id == message.author_id)
    return Timeline(rows, message.id, scope, rows=True)


def page(
    room: RoomWithRole,
    viewer: User,
    *,
    before: int | None,
    after: int | None,
    limit: int,
    parent: Message | None = None,
) -> tuple[list[ShownMessage], bool, bool]:
    """One page, oldest first, by keyset on id ((room_id, id) or (parent_id, id) index ranges),
    with whether older and newer messages exist.

    Messages past the room's TTL are left out (the cutoff is a parameter); reactions are shown
    as `viewer` sees them.
    """
    scope: dict[str, Any] = {"scope_id": parent.id if parent else room.id}
    if (cutoff := room.expiry_cutoff()) is not None:
        scope["cutoff"] = cutoff
    rows, older, newer = _timeline(parent is not None, cutoff is not None).page(
        before=before, after=after, limit=limit, **scope
    )
    shown = [ShownMessage(row) for row in rows]
    if with_files := {message.id: message for message in shown if message.has_files}:
        for message_id, attachments in files.attached_to(with_files).items():
            with_files[message_id].attachments = attachments
    reactions.attach([message for message in shown if message.has_reactions], viewer)
    return shown, older, newer
