"""Invite links and join requests: each change commits once and records its event (outbox)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Select, delete, or_, select, update

from app.extensions.api import abort
from app.extensions.database import db, insert_if_absent, rows_changed, utcnow
from app.extensions.security import generate_secret, hash_secret
from app.modules.events.services import record
from app.modules.rooms import services as rooms
from app.modules.rooms.models import Membership, Room
from app.modules.users.models import User

from .models import CODE_PREFIX_LENGTH, Invite, JoinRequest
from .schemas import InviteSchema, JoinRequestSchema


def create_invite(
    room: Room,
    by: User,
    *,
    expires_in: int | None = None,
    max_uses: int | None = None,
    requires_approval: bool = True,
) -> Invite:
    """A new invite link; its code is on the returned invite only, and stored hashed.

    `invite.created` reaches the room's managers without the code: the outbox is kept for
    replays, and a code in it would be a usable secret stored in plaintext.
    """
    code = generate_secret(12)
    invite = Invite(
        code_hash=hash_secret(code),
        code_prefix=code[:CODE_PREFIX_LENGTH],
        room_id=room.id,
        created_by=by.id,
        max_uses=max_uses,
        uses=0,
        requires_approval=requires_approval,
        expires_at=utcnow() + timedelta(seconds=expires_in) if expires_in else None,
    )
    db.session.add(invite)
    db.session.flush()
    _invite_event("invite.created", invite)
    db.session.commit()
    invite.code = code
    return invite


def _invite_event(type_: str, invite: Invite) -> None:
    record(type_, InviteSchema().dump(invite), room_id=invite.room_id, audience="managers")


def invites_statement(room: Room) -> Select:
    return select(Invite).where(Invite.room_id == room.id).order_by(Invite.id.desc())


def _invite_by_code(code: str) -> Invite | None:
    return db.session.scalar(select(Invite).where(Invite.code_hash == hash_secret(code)))


def get_invite_or_404(room: Room, ref: int | str) -> Invite:
    """An invite of the room by its id (int) or its code (str)."""
    invite = db.session.get(Invite, ref) if isinstance(ref, int) else _invite_by_code(ref)
    if invite is None or invite.room_id != room.id:
        abort(404, "No such invite.")
    return invite


def delete_invite(invite: Invite) -> None:
    """Withdraw an invite; of concurrent withdrawals one records `invite.deleted`, the others 404."""
    removed = rows_changed(
        delete(Invite).where(Invite.id == invite.id).execution_options(synchronize_session=False)
    )
    if removed == 0:
        abort(404, "No such invite.")
    _invite_event("invite.deleted", invite)
    db.session.commit()


def _count_use(invite: Invite) -> bool:
    """Count one use unless the invite is used up: the row decides, so `max_uses` holds under races."""
    counted = rows_changed(
        update(Invite)
        .where(Invite.id == invite.id, or_(Invite.max_uses.is_(None), Invite.uses < Invite.max_uses))
        .values(uses=Invite.uses + 1)
        .execution_options(synchronize_session=False)
    )
    return counted == 1


def _pending_request(room: Room, user: User) -> JoinRequest | None:
    return db.session.scalar(
        select(JoinRequest).where(
            JoinRequest.room_id == room.id, JoinRequest.user_id == user.id, JoinRequest.status == "pending"
        )
    )


def accept_invite(code: str, user: User) -> tuple[Room | None, JoinRequest | None]:
    """Join at once, or file a join request when the invite needs approval.

    Safe under concurrent accepts: the use is counted by a conditional update, and the
    membership or the pending request (one per user and room) is inserted only if absent;
    a repeat that loses undoes its counted use.
    """
    invite = _invite_by_code(code)
    room = db.session.get(Room, invite.room_id) if invite is not None else None
    if invite is None or room is None:  # a room's invites go with it
        abort(404, "This invite does not exist or was withdrawn.")
    if db.session.get(Membership, (room.id, user.id)) is not None:
        abort(409, "You are already a member of this room.")
    pending = _pending_request(room, user)
    if pending is not None:
        return None, pending
    if invite.expires_at is not None and invite.expires_at <= utcnow():
        abort(410, "This invite has expired.")
    if not _count_use(invite):
        abort(410, "This invite has been used up.")
    if not invite.requires_approval:
        if rooms.add_membership(room, user) is None:
            db.session.rollback()
            abort(409, "You are already a member of this room.")
        db.session.commit()
        return rooms.reload(room, user), None
    filed = insert_if_absent(
        JoinRequest,
        room_id=room.id,
        user_id=user.id,
        invite_id=invite.id,
        status="pending",
        created_at=utcnow(),
    )
    if not filed:
        db.session.rollback()
        return None, _pending_request(room, user)
    pending = _pending_request(room, user)
    assert pending is not None  # filed just above, in this transaction
    _join_request_event("join_request.created", pending)
    db.session.commit()
    return None, pending


def _join_request_event(type_: str, join_request: JoinRequest) -> None:
    data = JoinRequestSchema(exclude=rooms.PUBLIC_USER).dump(join_request)
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
    """Approve or reject a pending request; the first of concurrent decisions holds, the rest 409."""
    decided = rows_changed(
        update(JoinRequest)
        .where(JoinRequest.id == join_request.id, JoinRequest.status == "pending")
        .values(status="approved" if approve else "rejected", resolved_at=utcnow(), resolved_by=by.id)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(join_request)
    if decided == 0:
        abort(409, f"This request was already {join_request.status}.")
    if approve:
        rooms.add_membership(room, join_request.user)
    _join_request_event("join_request.resolved", join_request)
    db.session.commit()
    return join_request
