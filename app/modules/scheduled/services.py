"""Scheduling, cancelling and publishing messages; each change commits once with its event.

Publishing claims the row with a conditional DELETE in the same transaction that posts the
message (messages.services.send_message): of two schedulers racing for it, the second's DELETE
matches nothing once the first commits, so a message goes out exactly once. Cancelling claims it
the same way, so a cancel either wins (never sent) or finds it gone (404).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from werkzeug.exceptions import HTTPException

from app.extensions import database, ratelimit
from app.extensions.api import abort, keyset_page
from app.extensions.database import db, rows_changed
from app.extensions.schemas import DumpedObject
from app.modules.events.services import record
from app.modules.files import services as files
from app.modules.messages import services as messages
from app.modules.messages.models import Message
from app.modules.rooms.models import Membership, Room, RoomWithRole
from app.modules.users.models import User
from app.modules.users.signals import user_deleted

from .models import FAILED, PENDING, ScheduledMessage
from .schemas import ScheduledMessageSchema

PUBLISH_BATCH = 100  # due messages read per scheduler run; the rest wait for the next run


def _announce(scheduled: ScheduledMessage, status: str | None = None) -> None:
    """`scheduled.updated` to its author's devices only."""
    data = ScheduledMessageSchema().dump(scheduled)
    if status:
        data["status"] = status
    record("scheduled.updated", data, user_id=scheduled.author_id)


def _refuse_send_at(reason: str) -> None:
    abort(422, reason, errors={"json": {"send_at": [reason]}})


def _require_schedulable(send_at: datetime) -> None:
    now = database.utcnow()
    if send_at <= now:
        _refuse_send_at("send_at must be in the future.")
    horizon = current_app.config["SCHEDULE_HORIZON_SECONDS"]
    if send_at > now + timedelta(seconds=horizon):
        _refuse_send_at(f"send_at may be at most {horizon} seconds ahead.")


def _pending_with_client_id(author: User, client_msg_id: str) -> ScheduledMessage | None:
    return db.session.scalar(
        select(ScheduledMessage).where(
            ScheduledMessage.author_id == author.id, ScheduledMessage.client_msg_id == client_msg_id
        )
    )


def schedule(
    room: Room | RoomWithRole,
    author: User,
    *,
    body: str,
    send_at: datetime,
    parent_id: int | None = None,
    client_msg_id: str | None = None,
    attachment_ids: list[int] | None = None,
) -> tuple[ScheduledMessage | Message | DumpedObject, bool]:
    """Keep a message for `send_at`; returns it and whether it is new.

    A repeated `client_msg_id` returns what the first request made: the pending message, or
    the message itself once sent (through send_message, which also refuses another room).
    """
    if client_msg_id:
        if messages.first_with_client_id(author, client_msg_id) is not None:
            return messages.send_message(room, author, body=body, client_msg_id=client_msg_id)
        if (first := _pending_with_client_id(author, client_msg_id)) is not None:
            return messages.repeat(room.id, first), False
    _require_schedulable(send_at)
    messages.require_reply_target(room.id, parent_id)
    files.refuse_unattachable(files.unattachable(author, attachment_ids or []))
    ratelimit.count_in_transaction()
    scheduled = ScheduledMessage(
        room_id=room.id,
        author_id=author.id,
        author=author,
        body=body,
        parent_id=parent_id,
        attachment_ids=attachment_ids or [],
        client_msg_id=client_msg_id,
        send_at=send_at,
        status=PENDING,
    )
    db.session.add(scheduled)
    # The uploads wait for it, and for a day past its time in case it goes out late.
    ttl = timedelta(seconds=current_app.config["UNATTACHED_UPLOAD_TTL_SECONDS"])
    files.reserve(scheduled.attachment_ids, send_at + ttl)
    db.session.flush()
    _announce(scheduled)
    db.session.commit()
    return scheduled, True


def own_page(
    author: User, *, before: int | None, after: int | None, limit: int
) -> tuple[list[ScheduledMessage], bool, bool]:
    """One page of the author's pending and failed messages, oldest first (an (author_id, id) range)."""
    scope = ScheduledMessage.author_id == author.id
    return keyset_page(
        select(ScheduledMessage), ScheduledMessage.id, scope, before=before, after=after, limit=limit
    )


def get_own_or_404(scheduled_id: int, author: User) -> ScheduledMessage:
    scheduled = db.session.scalar(
        select(ScheduledMessage).where(
            ScheduledMessage.id == scheduled_id, ScheduledMessage.author_id == author.id
        )
    )
    if scheduled is None:
        abort(404, "No such scheduled message (it may have been sent).")
    return scheduled


def cancel(scheduled: ScheduledMessage) -> None:
    """Withdraw a pending message (or dismiss a failed one); 404 if the scheduler sent it first."""
    claimed = rows_changed(
        delete(ScheduledMessage)
        .where(ScheduledMessage.id == scheduled.id)
        .execution_options(synchronize_session=False)
    )
    if claimed == 0:
        abort(404, "No such scheduled message (it may have been sent).")
    _announce(scheduled, status="cancelled")
    db.session.commit()


def _failure_reason(scheduled: ScheduledMessage) -> str | None:
    """Why the author may no longer post it, checked at its time."""
    author = scheduled.author
    if author.banned_until is not None and author.banned_until > database.utcnow():
        return "banned"
    member = db.session.scalar(
        select(Membership.user_id).where(
            Membership.room_id == scheduled.room_id, Membership.user_id == scheduled.author_id
        )
    )
    if member is None:
        return "not_a_member"
    if not messages.is_reply_target(scheduled.room_id, scheduled.parent_id):
        return "parent_deleted"
    if files.unattachable(author, scheduled.attachment_ids):
        return "attachments_gone"
    return None


def _fail(scheduled_id: int, reason: str) -> int:
    claimed = rows_changed(
        update(ScheduledMessage)
        .where(ScheduledMessage.id == scheduled_id, ScheduledMessage.status == PENDING)
        .values(status=FAILED, failure_reason=reason)
    )
    if claimed == 1:
        _announce(db.session.get_one(ScheduledMessage, scheduled_id, populate_existing=True))
    db.session.commit()
    return claimed


def _publish(scheduled_id: int) -> int:
    """Post one due message, or fail it with the reason; 0 if another scheduler took it."""
    scheduled = db.session.get(ScheduledMessage, scheduled_id)
    if scheduled is None or scheduled.status != PENDING:
        return 0
    if reason := _failure_reason(scheduled):
        return _fail(scheduled_id, reason)
    claimed = rows_changed(
        delete(ScheduledMessage)
        .where(ScheduledMessage.id == scheduled_id, ScheduledMessage.status == PENDING)
        .execution_options(synchronize_session=False)
    )
    if claimed == 0:
        db.session.rollback()
        return 0
    try:
        messages.send_message(
            db.session.get_one(Room, scheduled.room_id),
            scheduled.author,
            body=scheduled.body,
            parent_id=scheduled.parent_id,
            client_msg_id=scheduled.client_msg_id,
            attachment_ids=scheduled.attachment_ids,
            send_at=scheduled.send_at,
        )
    except HTTPException:  # refused for a reason the checks above did not foresee
        db.session.rollback()
        return _fail(scheduled_id, "rejected")
    db.session.commit()  # a repeated client_msg_id: the message it names stands for this one
    return 1


def publish_due() -> int:
    """Send (or fail) the messages whose time has come (the job `messages.publish_scheduled`)."""
    due = list(
        db.session.scalars(
            select(ScheduledMessage.id)
            .where(ScheduledMessage.status == PENDING, ScheduledMessage.send_at <= database.utcnow())
            .order_by(ScheduledMessage.send_at, ScheduledMessage.id)
            .limit(PUBLISH_BATCH)
        )
    )
    return sum(_publish(scheduled_id) for scheduled_id in due)


@user_deleted.connect
def _fail_deleted_authors_messages(user: User) -> None:
    """A deleted account's pending messages fail with it, in its transaction: none goes out after.

    No event: the deletion ends every session of the account.
    """
    db.session.execute(
        update(ScheduledMessage)
        .where(ScheduledMessage.author_id == user.id, ScheduledMessage.status == PENDING)
        .values(status=FAILED, failure_reason="account_deleted")
    )
