"""How rooms and members are shown."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from marshmallow import fields

from app.extensions.schemas import Schema
from app.modules.files.schemas import AttachmentSchema
from app.modules.messages.schemas import MessageSchema
from app.modules.users.schemas import DELETED_DISPLAY_NAME, DELETED_USERNAME, ProfileSchema, UserSchema

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


ATTACHMENTS = AttachmentSchema(many=True)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def listed_room(row: Any, attachments: Sequence[Any], reactions: list[dict[str, Any]]) -> dict[str, Any]:
    """What `RoomSchema` makes of a room of the listing, from its row (`services._listing`).

    By hand: the compiled loop, fed with entities, still cost about 30 calls per room, and the
    ORM's loading of those entities more. `attachments` and `reactions` are the last message's.
    """
    last = None
    if row.last_id is not None:
        deleted = row.last_deleted_at is not None
        author = None
        if row.last_author_id is not None:
            gone = row.author_deleted_at is not None
            author = {
                "id": row.last_author_id,
                "username": DELETED_USERNAME if gone else row.author_username,
                "display_name": DELETED_DISPLAY_NAME if gone else row.author_display_name,
            }
        last = {
            "id": row.last_id,
            "room_id": row.id,
            "author": author,
            "body": "" if deleted else row.last_body,
            "parent_id": row.last_parent_id,
            "reply_count": row.last_reply_count,
            "attachments": ATTACHMENTS.dump(attachments) if attachments else [],
            "reactions": reactions,
            "created_at": row.last_created_at.isoformat(),
            "edited_at": _iso(row.last_edited_at),
            "send_at": _iso(row.last_send_at),
            "deleted": deleted,
        }
    return {
        "id": row.id,
        "name": row.name,
        "topic": row.topic,
        "kind": row.kind,
        "owner_id": row.owner_id,
        "member_count": row.member_count,
        "unread_count": row.unread_count,
        "last_message": last,
        "message_ttl_seconds": row.message_ttl_seconds,
        "role": row.role,
        "created_at": row.created_at.isoformat(),
    }


class MemberSchema(Schema):
    user = fields.Nested(UserSchema)
    role = fields.String(metadata={"enum": list(ROLES)})
    joined_at = fields.DateTime()
    last_read_message_id = fields.Integer()


class ListedMemberSchema(MemberSchema):
    """A member in the room's listing: with their `presence` and `last_seen_at` (never in events)."""

    user = fields.Nested(ProfileSchema)
