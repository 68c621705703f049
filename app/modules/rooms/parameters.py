"""What the rooms endpoints accept."""

from __future__ import annotations

from marshmallow import fields, validate

from app.extensions.api import MAX_ID
from app.extensions.schemas import QuerySchema, Schema
from app.modules.users.parameters import Username

from .models import ROLES

Name = fields.String(required=True, validate=validate.Length(min=1, max=100))
Topic = fields.String(validate=validate.Length(max=500))
# One minute to one year; null keeps messages until they are deleted.
Ttl = fields.Integer(allow_none=True, validate=validate.Range(min=60, max=365 * 24 * 3600))


class CreateRoomParameters(Schema):
    name = Name
    topic = Topic
    kind = fields.String(load_default="private", validate=validate.OneOf(["public", "private"]))
    members = fields.List(
        Username, validate=validate.Length(max=100), metadata={"description": "Usernames to add."}
    )
    message_ttl_seconds = Ttl


class UpdateRoomParameters(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    topic = Topic
    message_ttl_seconds = Ttl


class RoomListParameters(QuerySchema):
    scope = fields.String(
        validate=validate.OneOf(["mine", "public"]),
        load_default="mine",
        metadata={"description": "`mine` (default): your rooms; `public`: public rooms to join."},
    )


class MemberListParameters(QuerySchema):
    presence = fields.String(
        validate=validate.OneOf(["online", "offline"]),
        metadata={"description": "Only the members who are online (or offline)."},
    )


class UsernameParameters(Schema):
    username = Username


class UpdateMemberParameters(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class ReadMarkerParameters(Schema):
    message_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
