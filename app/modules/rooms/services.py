"""Room operations: each commits once and records the events clients must hear (outbox)."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    FromClause,
    Integer,
    Join,
    ScalarSelect,
    Select,
    String,
    and_,
    bindparam,
    case,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload, with_expression

from app.extensions.api import Listing, abort
from app.extensions.columns import iso_text
from app.extensions.database import db, insert_if_absent, read_connection, rows_changed, utcnow
from app.extensions.prepared import Prepared
from app.extensions.schemas import Dumped
from app.modules.events.services import record
from app.modules.files import services as files
from app.modules.messages import history, reactions
from app.modules.messages.models import Message, live_replies, with_reply_counts
from app.modules.users import services as users
from app.modules.users.models import User
from app.modules.users.schemas import UserSchema
from app.modules.users.signals import user_created, user_deleted, user_renamed

from . import permissions
from .models import Membership, Room, RoomWithRole, execution_time, within_ttl
from .schemas import LISTED_ROOM_ROW, MemberSchema, RoomSchema, listed_room

ROOM_FIELDS = ("id", "name", "topic", "kind", "owner_id", "message_ttl_seconds", "created_at")
# Where `_listing`'s rows say, after LISTED_ROOM_ROW, whether the last message has files and reactions.
HAS_FILES, HAS_REACTIONS = len(LISTED_ROOM_ROW), len(LISTED_ROOM_ROW) + 1


# --- reading ----------------------------------------------------------------------------------


def _rooms_seen_by(viewer: Any) -> Select:
    """Rooms with the viewer's view of them: unread count, role, last message.

    One statement for any number of rooms, their last messages and authors joined (a selectin
    load of them cost more than the joined columns). `viewer` is a user id, or a bind
    parameter for statements built once. The last message is loaded even past the room's TTL:
    `Room.live_last_message` hides it (relationship criteria would freeze the time a statement
    built once was built at).
    """
    mine = aliased(Membership)
    unread: ColumnElement[int] = (
        select(func.count())
        .where(
            Message.room_id == Room.id,
            Message.id > mine.last_read_message_id,
            Message.deleted_at.is_(None),
            within_ttl(Message, Room.message_ttl_seconds, now=execution_time()),
        )
        .correlate(Room, mine)
        .scalar_subquery()
    )
    return (
        select(Room)
        .outerjoin(mine, and_(mine.room_id == Room.id, mine.user_id == viewer))
        .options(
            with_expression(Room.my_role, mine.role),
            with_expression(Room.unread_count, case((mine.user_id.is_(None), 0), else_=unread)),
            joinedload(Room.last_message).options(with_reply_counts()),
        )
    )


def rooms_for(user: User) -> Select:
    """Rooms as `user` sees them, for statements that add conditions of their own."""
    return _rooms_seen_by(user.id)


VIEWER = "viewer_id"  # the bind parameter of the statements below: the caller's id


@cache
def _seen_rooms() -> Select:
    """`rooms_for` the caller, built once: building it costs more than running it."""
    return _rooms_seen_by(bindparam(VIEWER, type_=Integer))


@cache
def _listing(scope: str) -> Listing:
    """The caller's rooms (or the public ones), most recently active first, as Core rows; their count.

    Columns, not entities: for a page of 50 rooms with their last messages and authors, the ORM's
    loading (an identity map, 1,700 attribute reads) cost more than the statement. A row holds
    what `schemas.listed_room` shows: the room, the caller's role and unread count, and the
    columns of `_with_last_message`.
    """
    viewer = bindparam(VIEWER, type_=Integer)
    rooms, mine = Room.__table__, Membership.__table__.alias("mine")
    joined = and_(mine.c.room_id == rooms.c.id, mine.c.user_id == viewer)
    unread: ColumnElement[int] = _unread(rooms, mine)
    if scope == "public":
        shown = rooms.outerjoin(mine, joined)
        total = select(func.count()).select_from(rooms).where(rooms.c.kind == "public")
        unread = case((mine.c.user_id.is_(None), 0), else_=unread)
    else:
        shown = rooms.join(mine, joined)
        memberships = Membership.__table__
        total = select(func.count()).select_from(memberships).where(memberships.c.user_id == viewer)
    shown, columns = _with_last_message(shown, rooms)
    columns |= {name: rooms.c[name] for name in (*ROOM_FIELDS, "member_count")}
    columns["created_at"] = iso_text(rooms.c.created_at)
    columns |= {"role": mine.c.role, "unread_count": unread}
    ordered = [
        columns[name].label(name) for name in (*LISTED_ROOM_ROW, "last_has_files", "last_has_reactions")
    ]
    stmt = select(*ordered).select_from(shown)
    if scope == "public":
        stmt = stmt.where(rooms.c.kind == "public")
    return Listing(stmt.order_by(rooms.c.last_activity_at.desc(), rooms.c.id.desc()), total, exact=True)


def _unread(rooms: FromClause, mine: FromClause) -> ScalarSelect[int]:
    """Live messages of the room after the viewer's read marker (`mine`, their membership)."""
    messages = Message.__table__.c
    return (
        select(func.count())
        .where(
            messages.room_id == rooms.c.id,
            messages.id > mine.c.last_read_message_id,
            messages.deleted_at.is_(None),
            within_ttl(messages, rooms.c.message_ttl_seconds, now=execution_time()),
        )
        .correlate(rooms, mine)
        .scalar_subquery()
    )


def _with_last_message(shown: Join, rooms: FromClause) -> tuple[Join, dict[str, Any]]:
    """`shown` (rooms) joined to their last messages and authors; what a listed room shows of them.

    The join finds it only while within the room's TTL (the sweep may not have removed it yet).
    The columns, by name, are the `last_*` and `author_*` of LISTED_ROOM_ROW, and whether the
    message has files or reactions (so that most pages need no statement for either).
    """
    ttl = rooms.c.message_ttl_seconds
    message, author = Message.__table__.alias("last"), User.__table__.alias("author")
    found = and_(message.c.id == rooms.c.last_message_id, within_ttl(message.c, ttl, now=execution_time()))
    columns = {
        **{f"last_{name}": message.c[name] for name in ("id", "author_id", "body", "parent_id")},
        **{f"last_{name}": iso_text(message.c[name]) for name in ("created_at", "edited_at", "send_at")},
        "last_deleted": message.c.deleted_at.is_not(None),
        "last_reply_count": live_replies(message.c, ttl),
        "last_has_files": files.carries_any(message.c.id),
        "last_has_reactions": reactions.given_any(message.c.id),
        "author_username": author.c.username,
        "author_display_name": author.c.display_name,
        "author_deleted": author.c.deleted_at.is_not(None),
    }
    return shown.outerjoin(message, found).outerjoin(author, author.c.id == message.c.author_id), columns


def list_page(user: User, scope: str, pagination: Any) -> Dumped:
    """One page of `_listing`, dumped: the count is of the caller's memberships, not of the listing.

    The files and reactions of the last messages that have any come in one statement each.
    """
    rows = _listing(scope).page_rows(pagination, {VIEWER: user.id})
    listed = Dumped(map(listed_room, rows))
    lasts = [room["last_message"] for room in listed]
    history.fill_reactions_and_files(lasts, rows, user, has=(HAS_REACTIONS, HAS_FILES))
    return listed


@cache
def _seen_room(reloaded: bool) -> Select:
    stmt = _seen_rooms().where(Room.id == bindparam("room_id", type_=Integer))
    return stmt.execution_options(populate_existing=True) if reloaded else stmt


def get_visible_or_404(room_id: int, user: User) -> Room:
    room = db.session.scalar(_seen_room(False), {VIEWER: user.id, "room_id": room_id})
    if room is None or not permissions.can_see(room):
        abort(404, "No such room.")
    return room


@cache
def _with_role() -> Select:
    """A room by id with the caller's role, through the membership's primary key: built once."""
    mine = aliased(Membership)
    return (
        select(Room)
        .outerjoin(mine, and_(mine.room_id == Room.id, mine.user_id == bindparam("user_id", type_=Integer)))
        .where(Room.id == bindparam("room_id", type_=Integer))
        .options(with_expression(Room.my_role, mine.role))
    )


def get_with_role_or_404(room_id: int, user: User) -> Room:
    """The room with just the caller's role (no counts): for the checks of the messages' hot paths."""
    room = db.session.scalar(_with_role(), {"room_id": room_id, "user_id": user.id})
    if room is None or not permissions.can_see(room):
        abort(404, "No such room.")
    return room


@cache
def _role_in() -> Prepared:
    """`_with_role` as Core columns (`RoomWithRole`): built once."""
    room, mine = Room.__table__.c, Membership.__table__.c
    membership = and_(mine.room_id == room.id, mine.user_id == bindparam("user_id", type_=Integer))
    return Prepared(
        select(room.id, room.name, room.kind, room.message_ttl_seconds, mine.role)
        .select_from(Room.__table__.outerjoin(Membership.__table__, membership))
        .where(room.id == bindparam("room_id", type_=Integer))
    )


def get_role_in_or_404(room_id: int, user: User) -> RoomWithRole:
    """`get_with_role_or_404` for paths that change nothing of the room itself (reading its
    messages, sending one): no ORM entity but a Core row, read on the request's read connection
    as `Timeline`'s pages are."""
    rows = _role_in().rows(read_connection(), {"room_id": room_id, "user_id": user.id})
    if not rows or not permissions.can_see(room := RoomWithRole(*rows[0])):
        abort(404, "No such room.")
    return room


def reload(room: Room, user: User) -> Room:
    """The room again, with the caller's computed fields fresh after a change."""
    return db.session.scalar(_seen_room(True), {VIEWER: user.id, "room_id": room.id})


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


# Event data is the same for every receiver: nothing only some viewers may see (email).
PUBLIC_USER = ("user.email",)
# Made once, as messages.services.MESSAGE_SCHEMA: constructing a schema costs more than a dump.
ROOM_EVENT_SCHEMA, MEMBER_EVENT_SCHEMA = RoomSchema(only=ROOM_FIELDS), MemberSchema(exclude=PUBLIC_USER)


def _room_data(room: Room) -> dict[str, Any]:
    return ROOM_EVENT_SCHEMA.dump(room)


def _member_event(type_: str, membership: Membership) -> None:
    data = {"room_id": membership.room_id, **MEMBER_EVENT_SCHEMA.dump(membership)}
    record(type_, data, room_id=membership.room_id, user_id=membership.user_id)


# --- rooms ------------------------------------------------------------------------------------


def _count_members(room_id: int, change: int) -> None:
    """Move the room's `member_count` by `change`, in SQL: concurrent changes add up."""
    db.session.execute(
        update(Room)
        .where(Room.id == room_id)
        .values(member_count=Room.member_count + change)
        .execution_options(synchronize_session=False)
    )


def add_membership(room: Room, user: User, role: str = "member") -> Membership | None:
    """Make `user` a member, None if they already are one; `member.added` only when they were not.

    The read marker starts at the room's newest message: nothing from before is unread, though
    the history is there to read.
    """
    newest = select(Room.last_message_id).where(Room.id == room.id).scalar_subquery()
    if not insert_if_absent(
        Membership,
        room_id=room.id,
        user_id=user.id,
        role=role,
        joined_at=utcnow(),
        last_read_message_id=func.coalesce(newest, 0),
    ):
        return None
    _count_members(room.id, 1)
    membership = db.session.get_one(Membership, (room.id, user.id))
    _member_event("member.added", membership)
    return membership


def _resolve_usernames(usernames: list[str]) -> list[User]:
    found: list[User] = []
    missing: list[str] = []
    for name in dict.fromkeys(u.lower() for u in usernames):
        user = users.get_by_username(name)
        if user is None:
            missing.append(name)
        else:
            found.append(user)
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
    add_membership(room, owner, "owner")
    for user in others:
        add_membership(room, user)
    record("room.created", _room_data(room), room_id=room.id)  # after the members: they all hear it
    db.session.commit()
    return reload(room, owner)


def update_room(room: Room, by: User, changes: dict[str, Any]) -> Room:
    """Apply the changes and tell the members (who may: permissions.may_change; a ban stops a
    rename or a new topic, content the members read, but not a TTL: the resource checks it)."""
    for field, value in changes.items():
        setattr(room, field, value if field != "topic" else (value or ""))
    record("room.updated", _room_data(room), room_id=room.id)
    db.session.commit()
    return reload(room, by)


def delete_room(room: Room, *, commit: bool = True) -> None:
    """Remove the room with its messages, memberships, invites and requests.

    The first statement claims the room's row: of concurrent deletions one goes on and records
    `room.deleted`, the others find no room (404).
    """
    claimed = rows_changed(
        update(Room)
        .where(Room.id == room.id)
        .values(last_message_id=None)
        .execution_options(synchronize_session=False)
    )
    if claimed == 0:
        abort(404, "No such room.")
    files.detach(select(Message.id).where(Message.room_id == room.id))
    db.session.execute(delete(Message).where(Message.room_id == room.id))
    db.session.execute(delete(Room).where(Room.id == room.id))
    record("room.deleted", {"id": room.id}, room_id=room.id)
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
        if add_membership(existing, user) is not None:  # they had left: back in
            db.session.commit()
        return get_visible_or_404(existing.id, user), False
    room = Room(name="", kind="direct", direct_key=key, owner_id=None)
    db.session.add(room)
    try:
        db.session.flush()
    except IntegrityError:  # the other user created it a moment ago
        db.session.rollback()
        return get_visible_or_404(
            db.session.execute(select(Room.id).where(Room.direct_key == key)).scalar_one(), user
        ), False
    add_membership(room, user)
    add_membership(room, other)
    record("room.created", _room_data(room), room_id=room.id)
    db.session.commit()
    return reload(room, user), True


def join_public_room(room: Room, user: User) -> Room:
    """Join a public room; joining again, even at the same moment, changes nothing."""
    if room.my_role is None and add_membership(room, user) is not None:
        db.session.commit()
    return reload(room, user)


# --- members ----------------------------------------------------------------------------------


def add_member(room: Room, username: str) -> Membership:
    user = users.get_by_username(username)
    if user is None:
        abort(422, "No such user.", errors={"json": {"username": ["No such user."]}})
    membership = add_membership(room, user)
    if membership is None:
        abort(409, "That user is already a member.")
    db.session.commit()
    return membership


def change_role(room: Room, by: User, membership: Membership, role: str) -> Membership:
    """Set a member's role; giving `owner` transfers ownership and makes the old owner an admin."""
    if membership.user_id == by.id:
        abort(409, "Give ownership to another member instead of changing your own role.")
    if role == "owner":
        previous = get_membership_or_404(room, by.id)
        previous.role = "admin"
        room.owner_id = membership.user_id
        _member_event("member.updated", previous)
        record("room.updated", _room_data(room), room_id=room.id)
    membership.role = role
    _member_event("member.updated", membership)
    db.session.commit()
    return membership


def remove_member(membership: Membership, by: User) -> None:
    """Leave (yourself) or remove `membership` (who may: `permissions.may_remove`).

    The delete decides who removed the member: a concurrent repeat finds no member (404) and
    records no second `member.removed`.
    """
    if membership.user_id == by.id and membership.role == "owner":
        abort(409, "The owner must transfer ownership before leaving.")
    removed = rows_changed(
        delete(Membership)
        .where(Membership.room_id == membership.room_id, Membership.user_id == membership.user_id)
        .execution_options(synchronize_session=False)
    )
    if removed == 0:
        abort(404, "That user is not a member of this room.")
    _count_members(membership.room_id, -1)
    _member_event("member.removed", membership)
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
    membership = get_membership_or_404(room, user.id)
    if message_id > membership.last_read_message_id:
        membership.last_read_message_id = message_id
        record("read.updated", {"room_id": room.id, "last_read_message_id": message_id}, user_id=user.id)
        db.session.commit()
    return reload(room, user)


# --- the general room and accounts ------------------------------------------------------------


@cache
@cache
def _general(column: Any) -> Select:
    """The general room (or its id): the first public room of its configured name. Built once."""
    name = bindparam("name", type_=String)
    return select(column).where(Room.name == name, Room.kind == "public").order_by(Room.id).limit(1)


def general_room() -> Room | None:
    return db.session.scalar(_general(Room), {"name": current_app.config["GENERAL_ROOM_NAME"]})


def is_general(room: Room | RoomWithRole) -> bool:
    """Whether `room` is the general room, whose posts have a budget per user.

    Only a public room of that name can be: every other room is told without a query.
    """
    name = current_app.config["GENERAL_ROOM_NAME"]
    if room.kind != "public" or room.name != name:
        return False
    return db.session.scalar(_general(Room.id), {"name": name}) == room.id


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
        add_membership(room, user)


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
        room = db.session.get_one(Room, membership.room_id)
        if membership.role == "owner" and not _hand_over(room, user):
            continue  # the room went, and its memberships with it
        _member_event("member.removed", membership)
        _count_members(membership.room_id, -1)
        db.session.delete(membership)
    db.session.flush()


@user_renamed.connect
def _announce_profile(user: User) -> None:
    """`user.updated`, with the profile as others see it, in every room of the user (to its
    members) and to the user's own devices."""
    profile = UserSchema(exclude=("email",)).dump(user)
    room_ids = db.session.scalars(select(Membership.room_id).where(Membership.user_id == user.id)).all()
    for room_id in room_ids or (None,):
        record("user.updated", profile, room_id=room_id, user_id=user.id)
