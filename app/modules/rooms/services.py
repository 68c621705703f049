"""Room operations: each commits once and records the events clients must hear (outbox)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, case, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload, with_expression

from app.extensions.api import abort
from app.extensions.database import db, utcnow
from app.modules.events.services import record
from app.modules.files import services as files
from app.modules.messages.models import Message, with_reply_counts
from app.modules.users import services as users
from app.modules.users.models import User
from app.modules.users.signals import user_created, user_deleted

from . import permissions
from .models import Invite, JoinRequest, Membership, Room
from .schemas import JoinRequestSchema, MemberSchema, RoomSchema

ROOM_FIELDS = ("id", "name", "topic", "kind", "owner_id", "message_ttl_seconds", "created_at")


# --- reading ----------------------------------------------------------------------------------


def rooms_for(user: User) -> Select:
    """Rooms with the caller's view of them: member count, unread count, role, last message.

    One statement (plus one to load last messages) for any number of rooms.
    """
    mine = aliased(Membership)
    member_count = select(func.count()).where(Membership.room_id == Room.id).correlate(Room).scalar_subquery()
    unread = (
        select(func.count())
        .where(
            Message.room_id == Room.id,
            Message.id > mine.last_read_message_id,
            Message.deleted_at.is_(None),
        )
        .correlate(Room, mine)
        .scalar_subquery()
    )
    return (
        select(Room)
        .outerjoin(mine, and_(mine.room_id == Room.id, mine.user_id == user.id))
        .options(
            with_expression(Room.member_count, member_count),
            with_expression(Room.my_role, mine.role),
            with_expression(Room.unread_count, case((mine.user_id.is_(None), 0), else_=unread)),
            selectinload(Room.last_message).options(with_reply_counts()),
        )
    )


def list_statement(user: User, scope: str) -> Select:
    stmt = rooms_for(user)
    if scope == "public":
        stmt = stmt.where(Room.kind == "public")
    else:
        stmt = stmt.where(Room.id.in_(select(Membership.room_id).where(Membership.user_id == user.id)))
    return stmt.order_by(Room.last_activity_at.desc(), Room.id.desc())


def get_visible_or_404(room_id: int, user: User) -> Room:
    room = db.session.scalar(rooms_for(user).where(Room.id == room_id))
    if room is None or not permissions.can_see(room):
        abort(404, "No such room.")
    return room


def get_with_role_or_404(room_id: int, user: User) -> Room:
    """The room with just the caller's role (no counts): for the checks of the messages' hot paths."""
    mine = aliased(Membership)
    room = db.session.scalar(
        select(Room)
        .outerjoin(mine, and_(mine.room_id == Room.id, mine.user_id == user.id))
        .where(Room.id == room_id)
        .options(with_expression(Room.my_role, mine.role))
    )
    if room is None or not permissions.can_see(room):
        abort(404, "No such room.")
    return room


def _reload(room: Room, user: User) -> Room:
    """The room again, with the caller's computed fields fresh after a change."""
    return db.session.scalar(
        rooms_for(user).where(Room.id == room.id).execution_options(populate_existing=True)
    )


def members_statement(room: Room) -> Select:
    return (
        select(Membership)
        .where(Membership.room_id == room.id)
        .order_by(Membership.joined_at, Membership.user_id)
    )


def get_membership_or_404(room: Room, user_id: int) -> Membership:
    membership = db.session.get(Membership, (room.id, user_id))
    if membership is None:
        abort(404, "That user is not a member of this room.")
    return membership


# --- events -----------------------------------------------------------------------------------


def _room_data(room: Room) -> dict[str, Any]:
    return RoomSchema(only=ROOM_FIELDS).dump(room)


# Event data is the same for every receiver: nothing only some viewers may see (email).
PUBLIC_USER = ("user.email",)


def _member_event(type_: str, membership: Membership) -> None:
    data = {"room_id": membership.room_id, **MemberSchema(exclude=PUBLIC_USER).dump(membership)}
    record(type_, data, room_id=membership.room_id, user_id=membership.user_id)


# --- rooms ------------------------------------------------------------------------------------


def _add_membership(room: Room, user: User, role: str = "member") -> Membership:
    membership = Membership(room_id=room.id, user_id=user.id, role=role, user=user)
    db.session.add(membership)
    db.session.flush()
    _member_event("member.added", membership)
    return membership


def _resolve_usernames(usernames: list[str]) -> list[User]:
    found, missing = [], []
    for name in dict.fromkeys(u.lower() for u in usernames):
        user = users.get_by_username(name)
        (found if user else missing).append(user or name)
    if missing:
        abort(
            422,
            "Some members do not exist.",
            errors={"json": {"members": [f"No such user: {', '.join(missing)}"]}},
        )
    return found


def create_room(
    owner: User,
    *,
    name: str,
    kind: str,
    topic: str = "",
    members: list[str] | None = None,
    message_ttl_seconds: int | None = None,
) -> Room:
    others = [u for u in _resolve_usernames(members or []) if u.id != owner.id]
    room = Room(name=name, kind=kind, topic=topic, owner_id=owner.id, message_ttl_seconds=message_ttl_seconds)
    db.session.add(room)
    db.session.flush()
    _add_membership(room, owner, "owner")
    for user in others:
        _add_membership(room, user)
    record("room.created", _room_data(room), room_id=room.id)  # after the members: they all hear it
    db.session.commit()
    return _reload(room, owner)


def update_room(room: Room, by: User, changes: dict[str, Any]) -> Room:
    for field, value in changes.items():
        setattr(room, field, value if field != "topic" else (value or ""))
    record("room.updated", _room_data(room), room_id=room.id)
    db.session.commit()
    return _reload(room, by)


def delete_room(room: Room, *, commit: bool = True) -> None:
    """Remove the room with its messages, memberships, invites and requests."""
    record("room.deleted", {"id": room.id}, room_id=room.id)
    room.last_message_id = None
    db.session.flush()
    files.detach(select(Message.id).where(Message.room_id == room.id))
    db.session.execute(delete(Message).where(Message.room_id == room.id))
    db.session.delete(room)
    if commit:
        db.session.commit()


def get_or_create_direct_room(user: User, username: str) -> tuple[Room, bool]:
    """The one direct room of two users; True when it was created now."""
    other = users.get_by_username(username)
    if other is None or other.id == user.id:
        message = "No such user." if other is None else "A direct room needs another user."
        abort(422, message, errors={"json": {"username": [message]}})
    key = f"{min(user.id, other.id)}:{max(user.id, other.id)}"
    existing = db.session.scalar(select(Room).where(Room.direct_key == key))
    if existing is not None:
        if db.session.get(Membership, (existing.id, user.id)) is None:  # they had left: back in
            _add_membership(existing, user)
            db.session.commit()
        return get_visible_or_404(existing.id, user), False
    room = Room(name="", kind="direct", direct_key=key, owner_id=None)
    db.session.add(room)
    try:
        db.session.flush()
    except IntegrityError:  # the other user created it a moment ago
        db.session.rollback()
        return get_visible_or_404(
            db.session.scalar(select(Room.id).where(Room.direct_key == key)), user
        ), False
    _add_membership(room, user)
    _add_membership(room, other)
    record("room.created", _room_data(room), room_id=room.id)
    db.session.commit()
    return _reload(room, user), True


def join_public_room(room: Room, user: User) -> Room:
    """Join a public room; joining again changes nothing."""
    if room.kind != "public":
        abort(403, "Only public rooms can be joined without an invite.")
    if room.my_role is None:
        _add_membership(room, user)
        db.session.commit()
    return _reload(room, user)


# --- members ----------------------------------------------------------------------------------


def add_member(room: Room, username: str) -> Membership:
    user = users.get_by_username(username)
    if user is None:
        abort(422, "No such user.", errors={"json": {"username": ["No such user."]}})
    if room.kind == "direct":
        abort(403, "Direct rooms have exactly two members.")
    if db.session.get(Membership, (room.id, user.id)) is not None:
        abort(409, "That user is already a member.")
    membership = _add_membership(room, user)
    db.session.commit()
    return membership


def change_role(room: Room, by: User, membership: Membership, role: str) -> Membership:
    """Set a member's role; giving `owner` transfers ownership and makes the old owner an admin."""
    if membership.user_id == by.id:
        abort(409, "Give ownership to another member instead of changing your own role.")
    if role == "owner":
        previous = db.session.get(Membership, (room.id, by.id))
        previous.role = "admin"
        room.owner_id = membership.user_id
        _member_event("member.updated", previous)
        record("room.updated", _room_data(room), room_id=room.id)
    membership.role = role
    _member_event("member.updated", membership)
    db.session.commit()
    return membership


def remove_member(room: Room, by: User, membership: Membership) -> None:
    """Leave (yourself) or kick (owner: anyone; admin: plain members)."""
    leaving = membership.user_id == by.id
    if leaving and membership.role == "owner":
        abort(409, "The owner must transfer ownership before leaving.")
    if not leaving:
        permissions.require_manager(room)
        if membership.role == "owner" or (membership.role == "admin" and room.my_role != "owner"):
            abort(403, "Only the owner may remove an admin, and nobody may remove the owner.")
    _member_event("member.removed", membership)
    db.session.delete(membership)
    db.session.commit()


# --- read markers -----------------------------------------------------------------------------


def mark_read(room: Room, user: User, message_id: int) -> Room:
    """Move the caller's read marker forward to `message_id` (never back)."""
    exists = db.session.scalar(select(Message.id).where(Message.id == message_id, Message.room_id == room.id))
    if exists is None:
        abort(
            422,
            "No such message in this room.",
            errors={"json": {"message_id": ["No such message in this room."]}},
        )
    membership = db.session.get(Membership, (room.id, user.id))
    if message_id > membership.last_read_message_id:
        membership.last_read_message_id = message_id
        record("read.updated", {"room_id": room.id, "last_read_message_id": message_id}, user_id=user.id)
        db.session.commit()
    return _reload(room, user)


# --- invites and join requests ----------------------------------------------------------------


def create_invite(
    room: Room,
    by: User,
    *,
    expires_in: int | None = None,
    max_uses: int | None = None,
    requires_approval: bool = True,
) -> Invite:
    invite = Invite(
        code=secrets.token_urlsafe(12),
        room_id=room.id,
        created_by=by.id,
        max_uses=max_uses,
        requires_approval=requires_approval,
        expires_at=utcnow() + timedelta(seconds=expires_in) if expires_in else None,
    )
    db.session.add(invite)
    db.session.commit()
    return invite


def invites_statement(room: Room) -> Select:
    return select(Invite).where(Invite.room_id == room.id).order_by(Invite.created_at.desc())


def get_invite_or_404(room: Room, code: str) -> Invite:
    invite = db.session.get(Invite, code)
    if invite is None or invite.room_id != room.id:
        abort(404, "No such invite.")
    return invite


def delete_invite(invite: Invite) -> None:
    db.session.delete(invite)
    db.session.commit()


def accept_invite(code: str, user: User) -> tuple[Room | None, JoinRequest | None]:
    """Join at once, or file a join request when the invite needs approval."""
    # Locked: concurrent accepts neither exceed max_uses nor file two requests (PostgreSQL).
    invite = db.session.get(Invite, code, with_for_update=True)
    if invite is None:
        abort(404, "This invite does not exist or was withdrawn.")
    room = db.session.get(Room, invite.room_id)
    if db.session.get(Membership, (room.id, user.id)) is not None:
        abort(409, "You are already a member of this room.")
    pending = db.session.scalar(
        select(JoinRequest).where(
            JoinRequest.room_id == room.id, JoinRequest.user_id == user.id, JoinRequest.status == "pending"
        )
    )
    if pending is not None:
        return None, pending
    if invite.expires_at is not None and invite.expires_at <= utcnow():
        abort(410, "This invite has expired.")
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        abort(410, "This invite has been used up.")
    invite.uses += 1
    if not invite.requires_approval:
        _add_membership(room, user)
        db.session.commit()
        return _reload(room, user), None
    pending = JoinRequest(room_id=room.id, user_id=user.id, invite_code=code, user=user)
    db.session.add(pending)
    db.session.flush()
    _join_request_event("join_request.created", pending)
    db.session.commit()
    return None, pending


def _join_request_event(type_: str, join_request: JoinRequest) -> None:
    data = JoinRequestSchema(exclude=PUBLIC_USER).dump(join_request)
    # The room's owner and admins hear it; the requester (not a member yet) directly.
    record(type_, data, room_id=join_request.room_id, user_id=join_request.user_id, audience="managers")


def join_requests_statement(room: Room, status: str | None) -> Select:
    stmt = select(JoinRequest).where(JoinRequest.room_id == room.id)
    if status:
        stmt = stmt.where(JoinRequest.status == status)
    return stmt.order_by(JoinRequest.created_at, JoinRequest.id)


def own_join_requests_statement(user: User) -> Select:
    return select(JoinRequest).where(JoinRequest.user_id == user.id).order_by(JoinRequest.id.desc())


def get_join_request_or_404(room: Room, request_id: int) -> JoinRequest:
    join_request = db.session.get(JoinRequest, request_id)
    if join_request is None or join_request.room_id != room.id:
        abort(404, "No such join request.")
    return join_request


def resolve_join_request(room: Room, by: User, join_request: JoinRequest, approve: bool) -> JoinRequest:
    if join_request.status != "pending":
        abort(409, f"This request was already {join_request.status}.")
    join_request.status = "approved" if approve else "rejected"
    join_request.resolved_at = utcnow()
    join_request.resolved_by = by.id
    if approve and db.session.get(Membership, (room.id, join_request.user_id)) is None:
        _add_membership(room, join_request.user)
    _join_request_event("join_request.resolved", join_request)
    db.session.commit()
    return join_request


# --- the general room and accounts ------------------------------------------------------------


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


@user_created.connect
def _join_general(user: User) -> None:
    room = general_room()
    if room is not None:
        _add_membership(room, user)


def _hand_over(room: Room, leaving: User) -> bool:
    """Give a departing owner's room to its longest-standing admin, else member; drop it if empty.

    Returns whether the room still exists.
    """
    successor = db.session.scalar(
        select(Membership)
        .where(Membership.room_id == room.id, Membership.user_id != leaving.id)
        .order_by(case((Membership.role == "admin", 0), else_=1), Membership.joined_at)
        .limit(1)
    )
    if successor is None:
        delete_room(room, commit=False)
        return False
    successor.role = "owner"
    room.owner_id = successor.user_id
    _member_event("member.updated", successor)
    record("room.updated", _room_data(room), room_id=room.id)
    return True


@user_deleted.connect
def _leave_all_rooms(user: User) -> None:
    memberships = list(db.session.scalars(select(Membership).where(Membership.user_id == user.id)))
    for membership in memberships:
        room = db.session.get(Room, membership.room_id)
        if membership.role == "owner" and not _hand_over(room, user):
            continue  # the room went, and its memberships with it
        _member_event("member.removed", membership)
        db.session.delete(membership)
    db.session.flush()
