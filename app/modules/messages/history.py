"""History pages (a room's, or a message's replies): the API's most read answer, read as Core rows.

A page of ORM entities cost more CPU in SQLAlchemy's loading (identity map, instance state,
the joined author) than everything else the request did; a page needs none of it, since
nothing on it is changed or lazily loaded. So the page is one Core statement, built once,
whose rows carry what `MessageSchema` shows (author and reply count joined in) and whether
each message has reactions or files: those statements run only for a page that has any.
Each row is made the message's answer by hand (`schemas.shown_message`), not by the schema's loop.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Integer, bindparam, func, select

from app.extensions.api import Timeline
from app.extensions.database import UTCDateTime
from app.extensions.schemas import Dumped
from app.modules.files import services as files
from app.modules.rooms.models import RoomWithRole
from app.modules.users.models import User

from . import reactions
from .models import Message
from .schemas import ATTACHMENTS, SHOWN_MESSAGE_ROW, shown_message

# Where a page's rows say, after SHOWN_MESSAGE_ROW, whether the message has reactions and files.
HAS_REACTIONS, HAS_FILES = len(SHOWN_MESSAGE_ROW), len(SHOWN_MESSAGE_ROW) + 1


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
    rows = select(  # SHOWN_MESSAGE_ROW, then HAS_REACTIONS and HAS_FILES
        *(message.id, message.author_id, message.body, message.parent_id, counted.scalar_subquery()),
        *(message.created_at, message.edited_at, message.send_at, message.deleted_at.is_not(None)),
        *(author.username, author.display_name, author.deleted_at.is_not(None)),
        reactions.given_any(message.id),
        files.carries_any(message.id),
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
) -> tuple[Dumped, bool, bool]:
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
    shown, with_reactions, with_files = Dumped(), {}, {}
    for row in rows:
        shown.append(message := shown_message(room.id, row))
        if row[HAS_REACTIONS] and not message["deleted"]:
            with_reactions[message["id"]] = message
        if row[HAS_FILES]:
            with_files[message["id"]] = message
    for message_id, given in reactions.shown(with_reactions, viewer).items():
        with_reactions[message_id]["reactions"] = given
    for message_id, attachments in files.attached_to(with_files).items():
        with_files[message_id]["attachments"] = ATTACHMENTS.dump(attachments)
    return shown, older, newer
