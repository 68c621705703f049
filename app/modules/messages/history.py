"""History pages (a room's, or a message's replies): the API's most read answer, read as Core rows.

A page of ORM entities cost more CPU in SQLAlchemy's loading (identity map, instance state,
the joined author) than everything else the request did; a page needs none of it, since
nothing on it is changed or lazily loaded. So the page is one Core statement, built once,
whose rows carry what `MessageSchema` shows (author and reply count joined in) and whether
each message has reactions or files: those statements run only for a page that has any.
Each row is made the message's answer by hand (`schemas.shown_message`), not by the schema's loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, partial
from typing import Any

from sqlalchemy import FromClause, Integer, Select, bindparam, exists, func, select

from app.extensions.api import Timeline, Unresolved
from app.extensions.columns import UTCDateTime, iso_text
from app.extensions.schemas import Dumped
from app.modules.files import services as files
from app.modules.rooms.models import Membership, Room, RoomWithRole, execution_time, within_ttl
from app.modules.users.models import User

from . import reactions
from .models import Message
from .schemas import ATTACHMENTS, SHOWN_MESSAGE_ROW, shown_message

# Where a page's rows say, after SHOWN_MESSAGE_ROW, whether the message has reactions and files.
HAS_REACTIONS, HAS_FILES = len(SHOWN_MESSAGE_ROW), len(SHOWN_MESSAGE_ROW) + 1


def _page_of(counted: Select) -> Select:
    """A page's columns (SHOWN_MESSAGE_ROW, then HAS_REACTIONS and HAS_FILES), `counted` its
    replies."""
    message, author = Message.__table__.c, User.__table__.c
    return select(
        *(message.id, message.author_id, message.body, message.parent_id, counted.scalar_subquery()),
        *(iso_text(message.created_at), iso_text(message.edited_at), iso_text(message.send_at)),
        message.deleted_at.is_not(None),
        *(author.username, author.display_name, author.deleted_at.is_not(None)),
        reactions.given_any(message.id),
        files.carries_any(message.id),
    ).outerjoin(User.__table__, author.id == message.author_id)


def _reply_count(reply: FromClause) -> Select:
    """The page's message's live replies (`reply` aliases messages), before any TTL."""
    message = Message.__table__.c
    return select(func.count()).where(reply.c.parent_id == message.id, reply.c.deleted_at.is_(None))


@cache
def _history() -> Timeline:
    """A room's history as its members read it: built once.

    Whether the caller is a member, and the room's TTL, are conditions of the statement (each a
    lookup by primary key, made once): a page that finds messages needs no statement for the room
    before it. One that finds none resolves the room (its 404 or 403, or an empty page).
    """
    message, reply = Message.__table__.c, Message.__table__.alias("reply")
    room_id = bindparam("scope_id", type_=Integer)
    ttl = select(Room.message_ttl_seconds).where(Room.id == room_id).scalar_subquery()
    member = exists().where(
        Membership.room_id == room_id, Membership.user_id == bindparam("viewer", type_=Integer)
    )
    counted = _reply_count(reply).where(within_ttl(reply.c, ttl, now=execution_time()))
    scope = (message.room_id == room_id) & member & within_ttl(message, ttl, now=execution_time())
    return Timeline(_page_of(counted), message.id, scope, rows=True)


@cache
def _thread(expiring: bool) -> Timeline:
    """A message's replies, with or without a TTL cutoff: built once each.

    Replies are in their parent's room, so the room's cutoff also keeps expired replies out of
    `reply_count` (what `models.with_reply_counts` finds through each reply's room).
    """
    message, reply = Message.__table__.c, Message.__table__.alias("reply")
    cutoff = bindparam("cutoff", type_=UTCDateTime())
    counted = _reply_count(reply)
    scope = message.parent_id == bindparam("scope_id", type_=Integer)
    if expiring:
        counted = counted.where(reply.c.created_at > cutoff)
        scope &= message.created_at > cutoff
    return Timeline(_page_of(counted), message.id, scope, rows=True)


def history(
    room: Unresolved, viewer: User, *, before: int | None, after: int | None, limit: int
) -> tuple[Dumped, bool, bool]:
    """A page of a room's history, oldest first, by keyset on id (a (room_id, id) index range), with
    whether older and newer messages exist; or the room's 404 or 403.

    Messages past the room's TTL are left out; reactions are shown as `viewer` sees them.
    """
    rows, older, newer = _history().page(
        before=before, after=after, limit=limit, scope_id=room.id, viewer=viewer.id
    )
    if not rows:
        room.resolve()
    return _shown(room.id, rows, viewer), older, newer


def replies(
    room: RoomWithRole, parent: Message, viewer: User, *, before: int | None, after: int | None, limit: int
) -> tuple[Dumped, bool, bool]:
    """A page of `parent`'s replies, as `history`'s (a (parent_id, id) index range)."""
    scope: dict[str, Any] = {"scope_id": parent.id}
    if (cutoff := room.expiry_cutoff()) is not None:
        scope["cutoff"] = cutoff
    rows, older, newer = _thread(cutoff is not None).page(before=before, after=after, limit=limit, **scope)
    return _shown(room.id, rows, viewer), older, newer


def _shown(room_id: int, rows: Sequence[Any], viewer: User) -> Dumped:
    """The page's answer: each row's message, with reactions and files for those that have any."""
    shown = Dumped(map(partial(shown_message, room_id), rows))
    fill_reactions_and_files(shown, rows, viewer, has=(HAS_REACTIONS, HAS_FILES))
    return shown


def fill_reactions_and_files(
    shown: Sequence[dict[str, Any] | None], rows: Sequence[Any], viewer: User, *, has: tuple[int, int]
) -> None:
    """Give each shown message its reactions (as `viewer` sees them) and files, if its row says it has
    any (at the positions `has`): one statement for each kind, none when no message has any.

    A deleted message shows no reactions. `shown[i]` is `rows[i]`'s message (None for none).
    """
    with_reactions, with_files = {}, {}
    has_reactions, has_files = has
    for message, row in zip(shown, rows, strict=True):
        if message is None:
            continue
        if row[has_reactions] and not message["deleted"]:
            with_reactions[message["id"]] = message
        if row[has_files]:
            with_files[message["id"]] = message
    for message_id, given in reactions.shown(with_reactions, viewer).items():
        with_reactions[message_id]["reactions"] = given
    for message_id, attachments in files.attached_to(with_files).items():
        with_files[message_id]["attachments"] = ATTACHMENTS.dump(attachments)
