"""What the event endpoints accept."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from app.extensions.schemas import QuerySchema

MAX_EVENT_ID = 2**63 - 1


def event_id(description: str, **kwargs: Any) -> fields.Integer:
    """An event id to resume after (64-bit); 0 means "from the oldest event still kept"."""
    return fields.Integer(
        validate=validate.Range(min=0, max=MAX_EVENT_ID), metadata={"description": description}, **kwargs
    )


class StreamParameters(QuerySchema):
    since = event_id("Replay what came after this event id (as `Last-Event-ID` does).")
    ticket = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "A stream ticket (POST /api/v1/events/ticket), for `EventSource`."},
    )


class StreamHeaders(QuerySchema):
    last_event_id = event_id(
        "Sent by `EventSource` when it reconnects: replay from here.", data_key="Last-Event-ID"
    )


class PollParameters(QuerySchema):
    since = event_id("The `last_event_id` of the previous answer; none: from now.")
    timeout = fields.Integer(
        load_default=30,
        validate=validate.Range(min=0, max=60),
        metadata={"description": "Seconds to wait for an event (at most 60)."},
    )
