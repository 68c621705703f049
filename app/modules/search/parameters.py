"""What the search endpoint accepts."""

from __future__ import annotations

from marshmallow import fields, validate

from app.extensions.api import MAX_ID
from app.extensions.schemas import QuerySchema

MAX_QUERY_LENGTH = 200


class SearchParameters(QuerySchema):
    q = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_QUERY_LENGTH),
        metadata={
            "description": "Words to find, all of them, as whole words and case-insensitively; "
            "quotes, `*`, `OR` and other operators are ordinary characters."
        },
    )
    room_id = fields.Integer(
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "Search this room only (you must be a member)."},
    )
