"""Room membership that accounts need from day one: everyone is in `general`."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import delete, select

from app.extensions.database import db
from app.modules.users.models import User
from app.modules.users.signals import user_created, user_deleted

from .models import Membership, Room


def general_room() -> Room | None:
    return db.session.scalar(
        select(Room)
        .where(Room.name == current_app.config["GENERAL_ROOM_NAME"], Room.kind == "public")
        .order_by(Room.id)
        .limit(1)
    )


def ensure_general_room() -> Room:
    """The public room every user joins at sign-up; its messages live an hour by default."""
    room = general_room()
    if room is None:
        room = Room(
            name=current_app.config["GENERAL_ROOM_NAME"],
            kind="public",
            topic="Everyone is here.",
            message_ttl_seconds=current_app.config["GENERAL_MESSAGE_TTL_SECONDS"],
        )
        db.session.add(room)
        db.session.commit()
    return room


def rooms_of(user: User) -> list[Room]:
    return list(
        db.session.scalars(
            select(Room).join(Membership).where(Membership.user_id == user.id).order_by(Room.id)
        )
    )


@user_created.connect
def _join_general(user: User) -> None:
    room = general_room()
    if room is not None:
        db.session.add(Membership(room_id=room.id, user_id=user.id, role="member"))


@user_deleted.connect
def _leave_all_rooms(user: User) -> None:
    db.session.execute(delete(Membership).where(Membership.user_id == user.id))
