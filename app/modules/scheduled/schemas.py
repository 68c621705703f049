"""How a scheduled message is shown to its author."""

from __future__ import annotations

from marshmallow import fields

from app.extensions.schemas import Schema


class ScheduledMessageSchema(Schema):
    id = fields.Integer()
    room_id = fields.Integer()
    body = fields.String()
    parent_id = fields.Integer(allow_none=True)
    attachment_ids = fields.List(fields.Integer(), metadata={"description": "Attached when it is sent."})
    client_msg_id = fields.String(allow_none=True)
    send_at = fields.DateTime()
    status = fields.String(
        metadata={"enum": ["pending", "failed", "cancelled"], "description": "`cancelled` only in events."}
    )
    failure_reason = fields.String(
        allow_none=True,
        metadata={
            "description": "Why it was not sent: not_a_member, banned, account_deleted, parent_deleted, "
            "attachments_gone, rejected."
        },
    )
    created_at = fields.DateTime()
