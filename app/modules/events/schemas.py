"""How events and stream tickets are shown."""

from __future__ import annotations

from marshmallow import fields

from app.extensions.schemas import Schema


class TicketSchema(Schema):
    ticket = fields.String(metadata={"description": "Pass as `GET /api/v1/events?ticket=`; works once."})
    expires_in = fields.Integer(metadata={"description": "Seconds it stays valid."})


class EventSchema(Schema):
    id = fields.Integer(allow_none=True, metadata={"description": "null for ephemeral events"})
    type = fields.String()
    data = fields.Dict(metadata={"description": "The resource, as the REST API shows it to you."})


class PollSchema(Schema):
    events = fields.List(fields.Nested(EventSchema))
    last_event_id = fields.Integer(metadata={"description": "Pass as `since` next time."})
