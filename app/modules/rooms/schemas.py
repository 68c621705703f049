"""How rooms and members are shown."""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from app.extensions.schemas import Schema
from app.modules.messages.schemas import MessageSchema, shown_message
from app.modules.users.schemas import ProfileSchema, UserSchema

from .models import ROLES, ROOM_KINDS


class RoomSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    topic = fields.String()
    kind = fields.String(metadata={"enum": list(ROOM_KINDS)})
    owner_id = fields.Integer(allow_none=True)
    member_count = fields.Integer()
    unread_count = fields.Integer(
        metadata={"description": "Messages after your read marker; 0 if not a member."}
    )
    last_message = fields.Nested(MessageSchema, attribute="live_last_message", allow_none=True)
    message_ttl_seconds = fields.Integer(allow_none=True)
    role = fields.String(
        attribute="my_role", allow_none=True, metadata={"description": "Your role; null if not a member."}
    )
    created_at = fields.DateTime()


# What a listed room is built from, in this order (rooms.services._listing selects these columns).
LISTED_ROOM_ROW = (
    *("id", "name", "topic", "kind", "owner_id", "message_ttl_seconds", "created_at", "member_count"),
    *("role", "unread_count"),
    *("last_id", "last_author_id", "last_body", "last_parent_id", "last_reply_count"),
    *("last_created_at", "last_edited_at", "last_send_at", "last_deleted"),
    *("author_username", "author_display_name", "author_deleted"),
)


def listed_room(row: Any) -> dict[str, Any]:
    """What `RoomSchema` makes of a room of the listing, from its row (`LISTED_ROOM_ROW`, then others).

    By hand, and the row read by position (by name, each value cost a lookup): the compiled
    loop, fed with entities, cost about 30 calls per room, and the ORM's loading of those
    entities more. The last message's columns are in `messages.schemas.SHOWN_MESSAGE_ROW`'s order;
    its `attachments` and `reactions` are empty, for the listing to fill where it has any.
    Timestamps come as text (`columns.iso_text`).
    """
    (id_, name, topic, kind, owner_id, ttl, created_at, member_count, role, unread_count) = row[:10]
    last = None if row[10] is None else shown_message(id_, row[10:22])
    return {
        "id": id_,
        "name": name,
        "topic": topic,
        "kind": kind,
        "owner_id": owner_id,
        "member_count": member_count,
        "unread_count": unread_count,
        "last_message": last,
        "message_ttl_seconds": ttl,
        "role": role,
        "created_at": created_at,
    }


class MemberSchema(Schema):
    user = fields.Nested(UserSchema)
    role = fields.String(metadata={"enum": list(ROLES)})
    joined_at = fields.DateTime()
    last_read_message_id = fields.Integer()


class ListedMemberSchema(MemberSchema):
    """A member in the room's listing: with their `presence` and `last_seen_at` (never in events)."""

    user = fields.Nested(ProfileSchema)
