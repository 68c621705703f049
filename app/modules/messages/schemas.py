"""How messages are shown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from marshmallow import fields

from app.extensions.schemas import Schema
from app.modules.files.schemas import AttachmentSchema
from app.modules.users.schemas import DELETED_DISPLAY_NAME, DELETED_USERNAME, UserSchema


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


ATTACHMENTS = AttachmentSchema(many=True)
# What `shown_message` reads of a row, in this order (a history page's columns, a listed room's last
# message's); a row may go on with more.
SHOWN_MESSAGE_ROW = (
    *("id", "author_id", "body", "parent_id", "reply_count", "created_at", "edited_at", "send_at"),
    *("deleted", "author_username", "author_display_name", "author_deleted"),
)


def shown_message(room_id: int, row: Sequence[Any]) -> dict[str, Any]:
    """What `MessageSchema` makes of a message of `room_id`, from its row (`SHOWN_MESSAGE_ROW`, its
    timestamps already text: `columns.iso_text`).

    By hand, for the pages that show many (history): the compiled loop cost about 28 calls per
    message, and the row's objects (author, message) more. Its `attachments` and `reactions` are
    empty: a page fills them for the few messages that have any. tests/test_history_page.py holds
    it to the schema's own dump.
    """
    (id_, author_id, body, parent_id, reply_count, created_at, edited_at, send_at) = row[:8]
    (deleted, username, display_name, author_deleted) = row[8:12]
    author = None
    if author_id is not None:
        author = {
            "id": author_id,
            "username": DELETED_USERNAME if author_deleted else username,
            "display_name": DELETED_DISPLAY_NAME if author_deleted else display_name,
        }
    return {
        "id": id_,
        "room_id": room_id,
        "author": author,
        "body": "" if deleted else body,
        "parent_id": parent_id,
        "reply_count": reply_count or 0,
        "attachments": [],
        "reactions": [],
        "created_at": created_at,
        "edited_at": edited_at,
        "send_at": send_at,
        "deleted": bool(deleted),
    }
