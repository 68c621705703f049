"""What the invite and join-request endpoints accept."""

from __future__ import annotations

from marshmallow import fields, validate

from app.extensions.schemas import QuerySchema, Schema


class CreateInviteParameters(Schema):
    expires_in = fields.Integer(
        allow_none=True,
        validate=validate.Range(min=60, max=30 * 24 * 3600),
        metadata={"description": "Seconds until the link stops working; never when omitted."},
    )
    max_uses = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=10_000))
    requires_approval = fields.Boolean(load_default=True)


class JoinRequestListParameters(QuerySchema):
    status = fields.String(validate=validate.OneOf(["pending", "approved", "rejected"]))
