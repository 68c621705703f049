"""How invites and join requests are shown."""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from app.extensions.schemas import Schema
from app.extensions.urls import public_url
from app.modules.users.schemas import UserSchema


class InviteSchema(Schema):
    """An invite as its room's managers see it: the code itself is never shown again."""

    id = fields.Integer(metadata={"description": "Addresses the invite in place of its code."})
    code_prefix = fields.String(metadata={"description": "The code's first characters, to tell links apart."})
    room_id = fields.Integer()
    expires_at = fields.DateTime(allow_none=True)
    max_uses = fields.Integer(allow_none=True)
    uses = fields.Integer()
    requires_approval = fields.Boolean()
    created_at = fields.DateTime()


class NewInviteSchema(InviteSchema):
    """The answer that creates an invite: the only one carrying its code and link."""

    code = fields.String()
    url = fields.Method(
        "get_url", metadata={"type": "string", "description": "The browser client's accept page."}
    )

    def get_url(self, invite: Any) -> str:
        return f"{public_url()}/#/invites/{invite.code}"


class JoinRequestSchema(Schema):
    id = fields.Integer()
    room_id = fields.Integer()
    user = fields.Nested(UserSchema)
    status = fields.String(metadata={"enum": ["pending", "approved", "rejected"]})
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
