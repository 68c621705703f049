"""Reports and bans: each commits once, with the `ban.updated` it causes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import distinct, func, select

from app.extensions.api import abort
from app.extensions.database import db, utcnow
from app.modules.events.services import record
from app.modules.messages.models import Message
from app.modules.rooms.models import Membership
from app.modules.users.models import User

from .models import Report


def _announce_ban(user: User) -> None:
    """`ban.updated` to the user's devices: a ban began (`banned_until`) or was lifted (null)."""
    until = user.banned_until.isoformat() if user.banned_until else None
    record("ban.updated", {"user_id": user.id, "banned_until": until}, user_id=user.id)


def report(reporter: User, reported: User, reason: str, message_id: int | None = None) -> Report:
    """File a report; the threshold of distinct reporters since the last ban bans the user."""
    if reported.id == reporter.id:
        abort(422, "You cannot report yourself.")
    if message_id is not None and not _can_cite(reporter, reported, message_id):
        abort(
            422,
            "Cite a message of theirs that you can see.",
            errors={"json": {"message_id": ["Not a message of this user that you can see."]}},
        )
    entry = Report(reporter_id=reporter.id, reported_id=reported.id, reason=reason, message_id=message_id)
    db.session.add(entry)
    db.session.flush()
    config = current_app.config
    since = reported.reports_count_from or datetime.min.replace(tzinfo=UTC)
    reporters = db.session.scalar(
        select(func.count(distinct(Report.reporter_id))).where(
            Report.reported_id == reported.id, Report.created_at > since
        )
    )
    if reporters >= config["REPORT_BAN_THRESHOLD"]:
        reported.reports_count_from = utcnow()
        reported.banned_until = reported.reports_count_from + timedelta(seconds=config["REPORT_BAN_SECONDS"])
        _announce_ban(reported)
    db.session.commit()
    return entry


def reports_statement(user_id: int | None) -> Any:
    """Reports, newest first; only those about `user_id` when given."""
    stmt = select(Report).order_by(Report.created_at.desc(), Report.id.desc())
    return stmt if user_id is None else stmt.where(Report.reported_id == user_id)


def lift_ban(user: User) -> None:
    """End the user's ban now (an admin's call); the reports filed so far count towards no new ban."""
    if user.banned_until is None or user.banned_until <= utcnow():
        return
    user.banned_until, user.reports_count_from = None, utcnow()
    _announce_ban(user)
    db.session.commit()


def _can_cite(reporter: User, reported: User, message_id: int) -> bool:
    return (
        db.session.scalar(
            select(Message.id)
            .join(Membership, Membership.room_id == Message.room_id)
            .where(
                Message.id == message_id, Message.author_id == reported.id, Membership.user_id == reporter.id
            )
        )
        is not None
    )
