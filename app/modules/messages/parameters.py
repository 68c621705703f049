"""What the messages endpoints accept."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from app.extensions.api import MAX_ID, MAX_PAGE_SIZE
from app.extensions.schemas import QuerySchema, Schema

from .emoji import is_reaction

MessageId = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
Body = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class SendMessageParameters(Schema):
    body = Body
    parent_id = fields.Integer(
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "Reply to this message (same room)."},
    )
    attachment_ids = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=MAX_ID)),
        validate=validate.Length(max=10),
        metadata={"description": "Your uploads (POST /api/v1/files) to attach, 10 at most."},
    )
    client_msg_id = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Your id for it: sending it again returns the first message (200)."},
    )
    send_at = fields.AwareDateTime(
        format="iso",
        metadata={
            "description": "Schedule it: an ISO 8601 time with its offset, in the future (30 days at most "
            "by default). Answers 202 with the pending message (GET /api/v1/users/me/scheduled)."
        },
    )


class EditMessageParameters(Schema):
    body = Body


class HistoryParameters(QuerySchema):
    before = MessageId
    # 0 is a read marker that has never moved: `after=0` is the whole history, oldest first.
    after = fields.Integer(validate=validate.Range(min=0, max=MAX_ID))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))

    @validates_schema
    def _one_cursor(self, data: dict[str, Any], **_: Any) -> None:
        if "before" in data and "after" in data:
            raise ValidationError("Use `before` or `after`, not both.", "after")


def _reaction(text: str) -> None:
    if not is_reaction(text):
        raise ValidationError("Not one emoji, nor a :short_name: of the documented list.")


class ReactionPath(Schema):
    """The `{emoji}` of a reaction's path (the ids beside it are the route's own: excluded here)."""

    emoji = fields.String(
        required=True,
        validate=_reaction,
        metadata={
            "description": "One emoji (skin tone, ZWJ sequence, keycap, flag) or a listed :short_name:"
        },
    )
