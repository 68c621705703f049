"""How reports are shown."""

from __future__ import annotations

from marshmallow import fields

from app.extensions.schemas import Schema


class ReportSchema(Schema):
    id = fields.Integer()
    reported_user_id = fields.Integer(attribute="reported_id")
    reason = fields.String()
    message_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class FiledReportSchema(ReportSchema):
    """A report as administrators see it: with who filed it."""

    reporter_id = fields.Integer()
