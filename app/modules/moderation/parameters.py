"""What the moderation endpoints accept."""

from __future__ import annotations

from marshmallow import fields, validate

from app.extensions.api import MAX_ID
from app.extensions.schemas import QuerySchema, Schema


class ReportParameters(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    message_id = fields.Integer(
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "A message of theirs that you can see."},
    )


class ReportFilterParameters(QuerySchema):
    user_id = fields.Integer(
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "Only reports about this user."},
    )
