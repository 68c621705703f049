"""How messages are shown."""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from app.extensions.schemas import Schema
from app.modules.files.schemas import AttachmentSchema
from app.modules.users.schemas import UserSchema


class AuthorSchema(UserSchema):
    class Meta:
        fields = ("id", "username", "display_name")


class ReactionSchema(Schema):
    emoji = fields.String()
    count = fields.Integer()
    me = fields.Boolean(metadata={"description": "Whether you gave this one."})


class MessageSchema(Schema):
    id = fields.Integer()
    room_id = fields.Integer()
    author = fields.Nested(AuthorSchema, allow_none=True)
    body = fields.Method("get_body", metadata={"type": "string"})
    parent_id = fields.Integer(allow_none=True)
    reply_count = fields.Method("get_reply_count", metadata={"type": "integer"})
    attachments = fields.List(fields.Nested(AttachmentSchema))
    reactions = fields.List(
        fields.Nested(ReactionSchema),
        metadata={"description": "In the order first given; none on a deleted message."},
    )
    created_at = fields.DateTime()
    edited_at = fields.DateTime(allow_none=True)
    send_at = fields.DateTime(
        allow_none=True, metadata={"description": "When it was scheduled for (null: sent at once)."}
    )
    deleted = fields.Boolean()

    def get_reply_count(self, message: Any) -> int:
        """Live replies; a message just sent has none (its count was never queried)."""
        return message.reply_count or 0

    def get_body(self, message: Any) -> str:
        """A deleted message stays in history as a tombstone with an empty body."""
        return "" if message.deleted else message.body
