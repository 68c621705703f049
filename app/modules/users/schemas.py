"""How users are shown."""

from __future__ import annotations

from typing import Any

from marshmallow import fields
from marshmallow.utils import missing

from app.extensions.schemas import Schema, viewer

from . import permissions
from .models import Caller

DELETED_USERNAME = "deleted-user"
DELETED_DISPLAY_NAME = "Deleted user"


class UserSchema(Schema):
    """A public profile; `email` appears only for the user themself and for admins."""

    id = fields.Integer(dump_only=True)
    username = fields.Method("get_username", metadata={"type": "string", "example": "alice"})
    display_name = fields.Method("get_display_name", metadata={"type": ["string", "null"]})
    created_at = fields.DateTime(dump_only=True)
    deleted = fields.Method("get_deleted", metadata={"type": "boolean"})
    email = fields.Method(
        "get_email",
        metadata={
            "type": ["string", "null"],
            "optional": True,
            "description": "Only for yourself and admins.",
        },
    )

    def get_username(self, user: Any) -> str:
        return DELETED_USERNAME if user.is_deleted else user.username

    def get_display_name(self, user: Any) -> str | None:
        return DELETED_DISPLAY_NAME if user.is_deleted else user.display_name

    def get_deleted(self, user: Any) -> bool:
        return user.is_deleted

    def get_email(self, user: Any) -> Any:
        return user.email if permissions.may_see_email(viewer(), user) else missing


class ProfileSchema(UserSchema):
    """One user's profile, with whether they are online (a stream or long-poll of theirs is open)."""

    presence = fields.Method("get_presence", metadata={"type": "string", "enum": ["online", "offline"]})
    last_seen_at = fields.Method(
        "get_last_seen_at",
        metadata={
            "type": ["string", "null"],
            "format": "date-time",
            "description": "When last online: now while online; null if not seen since the servers started.",
        },
    )

    def get_presence(self, user: Any) -> str:
        return "online" if user.presence and user.presence.online else "offline"

    def get_last_seen_at(self, user: Any) -> str | None:
        seen = user.presence.last_seen_at if user.presence else None
        return seen.isoformat() if seen else None


class MeSchema(UserSchema):
    """The account as its owner sees it: at sign-up and at `/users/me`."""

    email = fields.Method("get_email", metadata={"type": ["string", "null"]})  # always, for its owner
    is_admin = fields.Boolean(dump_only=True)
    banned_until = fields.DateTime(
        allow_none=True, metadata={"description": "Reports stopped you posting until then."}
    )

    def get_email(self, user: Any) -> Any:
        return user.email


def shown_caller(caller: Caller) -> dict[str, Any]:
    """The caller as MeSchema shows it (`GET /users/me`, every client's first call), by hand: a
    `Caller` is never deleted and holds just these columns, so each field is one read, where the
    compiled loop made four calls a field. tests/test_users.py holds it to the loop's dump."""
    banned_until = caller.banned_until
    return {
        "id": caller.id,
        "username": caller.username,
        "display_name": caller.display_name,
        "created_at": caller.created_at.isoformat(),
        "deleted": False,
        "email": caller.email,
        "is_admin": caller.is_admin,
        "banned_until": None if banned_until is None else banned_until.isoformat(),
    }
