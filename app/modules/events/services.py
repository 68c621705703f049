"""Recording events (the only way a change reaches the streams) and reading them back per user."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Collection, Sequence
from datetime import timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session

from app.extensions.api import abort
from app.extensions.database import db, rows_changed, utcnow
from app.extensions.prepared import Prepared
from app.extensions.security import generate_secret, hash_secret
from app.modules.auth.models import (
    Bearer,
    OAuth2Token,
    access_token_alive,
    bearer_of,
    bearer_statement,
    grants_access,
)
from app.modules.rooms.models import Membership
from app.modules.users.models import User

from .models import Event, MembershipSpan, StreamTicket

# Session.info keys: the events a transaction will write, then the highest id it wrote.
PENDING = "parley.events.pending"
WRITTEN = "parley.events.written"
# Arbitrary constant naming the PostgreSQL advisory lock that orders event commits.
_COMMIT_ORDER_LOCK = 7_240_001
_COMMIT_ORDER = Prepared(select(func.pg_advisory_xact_lock(literal(_COMMIT_ORDER_LOCK))))


# What modules above tell the outbox, so that it imports none of them (registered in their init_app):
#: per audience narrower than a room's "members", the roles in the room that hear it (rooms: "managers")
AUDIENCES: dict[str, frozenset[str]] = {}
#: per module, a condition on `Event`, built when a replay is read, that every replayed event meets
#: (messages: what told of a message since expired is not replayed)
REPLAYED_IF: dict[str, Callable[[], ColumnElement[bool]]] = {}


def record(
    type_: str,
    data: dict[str, Any],
    *,
    room_id: int | None = None,
    user_id: int | None = None,
    audience: str = "members",
) -> None:
    """Add an event to the caller's transaction; it exists exactly when the change commits.

    The row is written as the transaction commits (`write_events`), in the order recorded.
    """
    event = {"type": type_, "data": data, "room_id": room_id, "user_id": user_id, "audience": audience}
    db.session.info.setdefault(PENDING, []).append(event)


_EVENT_COLUMNS = ("type", "room_id", "audience", "user_id", "data", "created_at")


@functools.cache
def _insert_event() -> Prepared:
    """One event, returning its id: built and compiled once, run by the driver's cursor.

    Core, not the ORM: nothing reads an event back as an object in the transaction that writes
    it, and the ORM's flush of the rows cost more than the statement. One statement an event,
    so that their ids follow the order recorded on both engines: a transaction records a few
    (a send, two), and SQLAlchemy's one multi-row INSERT … RETURNING for them cost twice what
    the two statements on the driver's cursor do.
    """
    table = cast(Table, Event.__table__)
    values = {name: bindparam(name, type_=table.c[name].type) for name in _EVENT_COLUMNS}
    return Prepared(insert(table).values(values).returning(table.c.id))


def write_events(session: Session) -> None:
    """Write the transaction's events last, under the lock that makes ids follow commit order.

    On PostgreSQL a transaction-scoped advisory lock is taken just before the ids are drawn
    and held until commit, so a reader that has seen id n never later finds a smaller one.
    Taken last, after every row lock of the transaction, it cannot deadlock with them: so the
    transaction's own changes are flushed first (commit flushes only after this hook), lest
    an UPDATE wait for a row lock while holding it.
    SQLite needs nothing: it runs one writing transaction at a time.
    """
    events = session.info.pop(PENDING, None)
    if not events:
        return
    session.flush()
    connection, created_at = session.connection(), utcnow()
    if connection.dialect.name == "postgresql":
        _COMMIT_ORDER.run(connection, {})
    for event in events:
        ((event_id,),) = _insert_event().rows(connection, {**event, "created_at": created_at})
        _follow_membership(session, event_id, event)
    session.info[WRITTEN] = event_id


def _follow_membership(session: Session, event_id: int, event: dict[str, Any]) -> None:
    """Open or close the span of a room's events a user may see."""
    type_, room_id, user_id = event["type"], event["room_id"], event["user_id"]
    if type_ == "member.added":
        session.add(MembershipSpan(user_id=user_id, room_id=room_id, first_event_id=event_id))
    elif type_ in ("member.removed", "room.deleted"):
        spans = update(MembershipSpan).where(
            MembershipSpan.room_id == room_id, MembershipSpan.last_event_id.is_(None)
        )
        if type_ == "member.removed":
            spans = spans.where(MembershipSpan.user_id == user_id)
        session.execute(spans.values(last_event_id=event_id))


def forget_events(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(WRITTEN, None)


def pop_written(session: Session) -> int | None:
    return session.info.pop(WRITTEN, None)


# --- reading ----------------------------------------------------------------------------------


def latest_id() -> int:
    return db.session.scalar(select(func.max(Event.id))) or 0


def live_tokens(token_ids: Collection[int]) -> set[int]:
    """Which of these access tokens still grant access (as `access_token_alive`), read afresh in bulk."""
    ids, alive, now = sorted(token_ids), set[int](), time.time()
    for start in range(0, len(ids), 500):  # bounded IN lists
        stmt = (
            select(OAuth2Token.id)
            .outerjoin(User, User.id == OAuth2Token.user_id)
            .where(OAuth2Token.id.in_(ids[start : start + 500]), grants_access(now))
        )
        alive.update(db.session.scalars(stmt))
    db.session.close()
    return alive


def is_known(event_id: int) -> bool:
    """Whether an id still names a stored event (a resume point we can replay from)."""
    return db.session.get(Event, event_id) is not None


def resume_point(user_id: int) -> tuple[int, dict[int, str]]:
    """The newest event id, and the rooms the user was in just after it with their role now.

    Every stream starts here, so it is one round trip on a statement built once: a thousand
    clients reconnecting together (a deploy, a network blip) each pay for it.
    """
    return _resume(db.session.execute(_resume_statement(), {"user_id": user_id}).all())


def open_stream(digest: str) -> tuple[Bearer | None, int, dict[int, str]]:
    """The user's access token of this hash if it grants access, and their resume point, in one round trip.

    For a stream opened with a bearer token: the same answer as the token check and
    `resume_point` one after the other, at the cost of one indexed query and no ORM loading.
    """
    # Outside the session: a Core statement needs none of the ORM's transaction machinery.
    with db.engine.connect() as connection:
        rows = _opening().rows(connection, {"digest": digest, "now": time.time()})
    return bearer_of(rows[0]), *_resume(rows)


def _resume(rows: Sequence[Sequence[Any]]) -> tuple[int, dict[int, str]]:
    """From rows ending in `_resume_statement`'s columns: upto, room_id, role."""
    return rows[0][-3], {row[-2]: row[-1] or "member" for row in rows if row[-2] is not None}


@functools.cache
def _resume_statement(user_id: ColumnElement[int] | None = None) -> Select:
    """The newest event id, and a row per room the user was in just after it (none: `user_id` bound)."""
    user_id = bindparam("user_id") if user_id is None else user_id
    latest = select(func.coalesce(func.max(Event.id), 0).label("upto")).subquery()
    spans = (
        select(
            MembershipSpan.room_id,
            MembershipSpan.first_event_id,
            MembershipSpan.last_event_id,
            Membership.role,
        )
        .outerjoin(
            Membership,
            (Membership.room_id == MembershipSpan.room_id) & (Membership.user_id == MembershipSpan.user_id),
        )
        .where(MembershipSpan.user_id == user_id)
        .subquery()
    )
    # An outer join, so that a user in no room still gets the newest id.
    return select(latest.c.upto, spans.c.room_id, spans.c.role).outerjoin(
        spans,
        (spans.c.first_event_id <= latest.c.upto)
        & or_(spans.c.last_event_id.is_(None), spans.c.last_event_id > latest.c.upto),
    )


@functools.cache
def _opening() -> Prepared:
    return Prepared(_opening_statement())


def _opening_statement() -> Select:
    by_hash = OAuth2Token.access_token_hash == bindparam("digest")
    owner = select(OAuth2Token.user_id).where(by_hash).scalar_subquery()
    resume = _resume_statement(owner).subquery()
    # A client's own token is no stream's caller.
    token = bearer_statement().where(User.id.is_not(None)).subquery()
    # Outer-joined to the resume point, so that an unknown token still gets a row (of NULLs): the
    # token's columns first, as `bearer_of` reads them.
    return select(token, resume).select_from(resume).outerjoin(token, true())


def visible_events(user_id: int, after: int, upto: int, limit: int) -> list[Event]:
    """The events in (after, upto] this user may see, oldest first.

    Room events come through the user's spans of that room (index range scans on
    `(room_id, id)`), personal ones through `(user_id, id)`.
    """
    narrower = [and_(Event.audience == name, Membership.role.in_(roles)) for name, roles in AUDIENCES.items()]
    by_role = (
        select(literal(1))
        .where(Membership.room_id == Event.room_id, Membership.user_id == user_id, or_(false(), *narrower))
        .exists()
    )
    in_room = (
        select(Event.id)
        .join(MembershipSpan, MembershipSpan.room_id == Event.room_id)
        .where(
            MembershipSpan.user_id == user_id,
            Event.id >= MembershipSpan.first_event_id,
            Event.id <= func.coalesce(MembershipSpan.last_event_id, upto),
            Event.id > after,
            Event.id <= upto,
            or_(Event.audience == "members", by_role),
            *(condition() for condition in REPLAYED_IF.values()),
        )
    )
    personal = select(Event.id).where(Event.user_id == user_id, Event.id > after, Event.id <= upto)
    ids = in_room.union(personal).subquery()
    return list(
        db.session.scalars(
            select(Event).where(Event.id.in_(select(ids.c.id))).order_by(Event.id).limit(limit)
        )
    )


# --- stream tickets ---------------------------------------------------------------------------


def issue_ticket(user_id: int, token_id: int) -> tuple[str, int]:
    """A single-use ticket for `GET /events?ticket=`; only its hash is stored.

    The stream it opens lives as long as the access token that asked for it.
    """
    lifetime = current_app.config["EVENTS_TICKET_SECONDS"]
    ticket = generate_secret()
    db.session.add(
        StreamTicket(
            ticket_hash=hash_secret(ticket),
            user_id=user_id,
            token_id=token_id,
            expires_at=utcnow() + timedelta(seconds=lifetime),
        )
    )
    db.session.commit()
    return ticket, lifetime


def redeem_ticket(ticket: str) -> tuple[User, int]:
    """Use a ticket up: whoever deletes its row first gets the stream, anyone later gets 401.

    A ticket is worth no more than the access token that asked for it: once that token is
    revoked or expired, or its user deleted, the ticket opens nothing, not even the replay.
    Returns the user and the access token the stream lives by.
    """
    key = hash_secret(ticket)
    found = db.session.get(StreamTicket, key)
    used = (
        found is not None and rows_changed(delete(StreamTicket).where(StreamTicket.ticket_hash == key)) == 1
    )
    db.session.commit()
    user = db.session.get(User, found.user_id) if used and found else None
    if (
        found is None
        or user is None
        or user.deleted_at is not None
        or found.expires_at <= utcnow()
        or not access_token_alive(found.token_id)
    ):
        abort(
            401,
            "The stream ticket is invalid, expired or already used, or its access token no longer works.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return user, found.token_id


# --- housekeeping -----------------------------------------------------------------------------


def purge_expired() -> int:
    """Forget events older than the retention window, the spans they needed, and dead tickets."""
    cutoff = utcnow() - timedelta(seconds=current_app.config["EVENTS_RETENTION_SECONDS"])
    purged = rows_changed(delete(Event).where(Event.created_at < cutoff))
    oldest = db.session.scalar(select(func.min(Event.id)))
    spans = delete(MembershipSpan).where(MembershipSpan.last_event_id.is_not(None))
    if oldest is not None:
        spans = spans.where(MembershipSpan.last_event_id < oldest)
    db.session.execute(spans)
    db.session.execute(delete(StreamTicket).where(StreamTicket.expires_at < utcnow()))
    db.session.commit()
    return purged
