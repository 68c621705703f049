"""What the users endpoints accept."""

from __future__ import annotations

from marshmallow import fields, validate

from app.extensions.schemas import QuerySchema, Schema

from .models import USERNAME_PATTERN

Username = fields.String(
    required=True,
    validate=validate.Regexp(USERNAME_PATTERN, error="3 to 32 characters of A-Z a-z 0-9 _ . -"),
    metadata={"example": "alice"},
)


def _password(*, required: bool = False, description: str = "8 to 128 characters.") -> fields.String:
    return fields.String(
        required=required,
        load_only=True,
        validate=validate.Length(min=8, max=128),
        metadata={"format": "password", "description": description},
    )


def _email() -> fields.Email:
    return fields.Email(allow_none=True, validate=validate.Length(max=254))


def _display_name() -> fields.String:
    return fields.String(allow_none=True, validate=validate.Length(min=1, max=64))


class SignUpParameters(Schema):
    username = Username
    password = _password(required=True)
    email = _email()
    display_name = _display_name()


class UpdateMeParameters(Schema):
    display_name = _display_name()
    email = _email()
    password = _password(description="The new password, 8 to 128 characters.")
    current_password = fields.String(
        load_only=True,
        validate=validate.Length(max=128),
        metadata={"description": "Required to change `password` or `email`."},
    )


class DeleteMeParameters(Schema):
    current_password = fields.String(required=True, load_only=True, validate=validate.Length(max=128))


class UserSearchParameters(QuerySchema):
    q = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Prefix of a username or display name (case-insensitive)."},
    )
