"""How rooms and members are shown."""

from __future__ import annotations

from marshmallow import fields

from app.extensions.schemas import Schema
from app.modules.messages.schemas import MessageSchema
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


class MemberSchema(Schema):
    user = fields.Nested(UserSchema)
    role = fields.String(metadata={"enum": list(ROLES)})
    joined_at = fields.DateTime()
    last_read_message_id = fields.Integer()


class ListedMemberSchema(MemberSchema):
    """A member in the room's listing: with their `presence` and `last_seen_at` (never in events)."""

    user = fields.Nested(ProfileSchema)
