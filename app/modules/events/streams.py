"""One user's view of the event flow: replay from a resume point, then live events, rendered for them."""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from flask import current_app

from app.extensions import metrics
from app.extensions.api import abort
from app.extensions.database import db
from app.modules.messages import reactions
from app.modules.rooms.models import Room
from app.modules.rooms.schemas import RoomSchema
from app.modules.rooms.services import rooms_for
from app.modules.users.models import User

from . import presence, services
from .broker import hub
from .hub import CLOSED, KEEPALIVE, Delivery, Hub, Subscriber, sse_frame

REPLAY_PAGE = 500
# Events whose resource carries fields that differ per receiver (unread count, role).
_ROOM_VIEWS = {"room.created", "room.updated", "read.updated"}
# Events whose reactions carry who gave them (`user_ids`): each receiver sees only their own `me`.
_REACTION_VIEWS = {"message.updated", "reaction.updated"}


@dataclass
class Subscription:
    user: User
    hub: Hub
    subscriber: Subscriber
    after: int  # replay what came after this id...
    upto: int  # ...up to this one; live events follow
    reset: bool  # the resume point is gone: the client must refetch its state


def listen() -> Subscriber:
    """Register for live events before reading anything: what commits from now on is kept for the stream."""
    return hub().subscribe()


def subscribe(
    user: User,
    since: int | None,
    subscriber: Subscriber | None = None,
    start: tuple[int, dict[int, str]] | None = None,
    token_id: int | None = None,
) -> Subscription:
    """Start a subscriber (listening already, or now) at the user's resume point (`start`, or read now).

    The resume point is read after the subscriber listens, so nothing falls between replay and live.
    A stream's subscriber lives by its access token (`token_id`): the hub checks it every keep-alive.
    """
    local = hub()
    subscriber = local.subscribe() if subscriber is None else subscriber
    try:
        upto, rooms = services.resume_point(user.id) if start is None else start
        most = current_app.config["EVENTS_MAX_STREAMS_PER_USER"]
        if not local.start(subscriber, user.id, token_id, rooms, upto, most):
            retry = str(math.ceil(current_app.config["EVENTS_RETRY_MS"] / 1000))
            message = f"You have {most} event streams open here already; close one."
            abort(429, message, headers={"Retry-After": retry})
        reset = bool(since and not services.is_known(since))
    except BaseException:
        local.unsubscribe(subscriber)
        raise
    after = upto if since is None or reset else since
    db.session.remove()  # what it read is let go; a stream opened with its resume point made no session
    return Subscription(user, local, subscriber, after, upto, reset)


def forget(subscriber: Subscriber) -> None:
    """A listening subscriber whose stream will not open."""
    hub().unsubscribe(subscriber)


def unsubscribe(subscription: Subscription) -> None:
    """Safe outside the app context: the response's close callbacks run after it is gone."""
    subscription.hub.unsubscribe(subscription.subscriber)


def replay(subscription: Subscription, limit: int | None = None) -> Iterator[Delivery]:
    """What the user missed, oldest first, a page of rows at a time (no query when nothing was missed)."""
    after, sent = subscription.after, 0
    while (limit is None or sent < limit) and after < subscription.upto:
        page_size = REPLAY_PAGE if limit is None else min(REPLAY_PAGE, limit - sent)
        page = services.visible_events(subscription.user.id, after, subscription.upto, page_size)
        db.session.close()
        yield from map(Delivery.of, page)
        sent += len(page)
        if len(page) < page_size:
            return
        after = page[-1].id


def reset_event(subscription: Subscription) -> Delivery:
    return Delivery(type="reset", data={"last_event_id": subscription.upto}, id=subscription.upto)


def _own_reactions(data: dict[str, Any], user: User) -> dict[str, Any]:
    """Reactions as this receiver sees them; no database work, however many receivers."""
    shown = [
        {"emoji": r["emoji"], "count": r["count"], "me": _holds(r["user_ids"], user.id)}
        for r in data["reactions"]
    ]
    return {**data, "reactions": shown}


def _holds(sorted_ids: list[int], user_id: int) -> bool:
    at = bisect.bisect_left(sorted_ids, user_id)
    return at < len(sorted_ids) and sorted_ids[at] == user_id


def _has_reactions(delivery: Delivery) -> bool:
    return delivery.type in _REACTION_VIEWS and bool(delivery.data.get("reactions"))


def render(delivery: Delivery, user: User) -> dict[str, Any]:
    """The event's resource as the REST API would show it to this user."""
    if _has_reactions(delivery):
        return _own_reactions(delivery.data, user)
    if delivery.type not in _ROOM_VIEWS:
        return delivery.data
    room_id = delivery.data["room_id"] if delivery.type == "read.updated" else delivery.room_id
    room = db.session.scalar(rooms_for(user).where(Room.id == room_id))
    if room is not None and delivery.type != "read.updated":
        reactions.attach([room.last_message], user)
    db.session.close()
    if room is None:  # deleted since: what was recorded is all there is
        return delivery.data
    if delivery.type == "read.updated":
        return {**delivery.data, "unread_count": room.unread_count}
    # The room as it was then (a replayed rename shows each name), with the receiver's own fields now.
    return {**RoomSchema().dump(room), **delivery.data}


def as_json(delivery: Delivery, user: User) -> dict[str, Any]:
    return {"id": delivery.id, "type": delivery.type, "data": render(delivery, user)}


# --- Server-Sent Events -----------------------------------------------------------------------


KEEPALIVE_FRAME = b": keep-alive\n\n"
Lagged = Callable[[int, float], None]


class Body(Protocol):
    """A response body the server lets any greenlet write to (gunicorn_worker.py puts it in the environ)."""

    backlog: bytes  # what the socket did not take at once: it leaves first with the stream's next write

    def write_nowait(self, data: bytes) -> bool: ...


def _personal(delivery: Delivery) -> bool:
    return delivery.type in _ROOM_VIEWS or _has_reactions(delivery)


def frame(delivery: Delivery, user: User) -> bytes:
    """The frame as this user gets it: most are the same for every receiver, and made once."""
    if _personal(delivery):
        personal = json.dumps(render(delivery, user), separators=(",", ":"))
        return sse_frame(delivery.type, delivery.id, personal)
    return delivery.frame


def _observe_lag(delivery: Delivery, lagged: Lagged | None) -> None:
    """`lagged` (metrics on) hears of each stored event the stream sends."""
    if lagged is not None and delivery.id is not None and delivery.written_at is not None:
        lagged(delivery.id, delivery.written_at)


def live_frame(delivery: Delivery, user: User, lagged: Lagged | None) -> bytes:
    if delivery is KEEPALIVE:
        return KEEPALIVE_FRAME
    _observe_lag(delivery, lagged)
    return frame(delivery, user)


def _write_now(body: Body, lagged: Lagged | None, subscriber: Subscriber, delivery: Delivery) -> bool:
    """Send a live delivery from the hub's loop straight to the waiting stream's socket; False: it was not.

    Waking the stream's greenlet and its chain of generators for every frame cost as much as the
    send itself (10,000 streams, issue 17). Only frames that read the same for every receiver go
    this way: they need no database work, and are made once per event.
    """
    if delivery is CLOSED or _personal(delivery):
        return False
    try:
        if not body.write_nowait(KEEPALIVE_FRAME if delivery is KEEPALIVE else delivery.frame):
            return False
    except OSError:
        return False  # the client is gone: the stream's own write finds out and ends it
    _observe_lag(delivery, lagged)
    if body.backlog:
        subscriber.keep_alive()  # wakes the stream: its write sends the rest first
    return True


def sse(subscription: Subscription, body: Body | None = None) -> Iterator[bytes]:
    """The stream's body: replay, then live events, while the access token behind it still grants access.

    Every keep-alive interval the hub reads the token again (`Hub`): a stream ends within that
    interval of its token expiring or being revoked (or its user being deleted); the client
    reconnects with a fresh token and `Last-Event-ID`. Each check sends a comment. With a `body`
    others may write to, live frames go out from the hub's loop while the stream waits.
    """
    user, subscriber = subscription.user, subscription.subscriber
    presence.connected(user.id)
    metrics.stream_opened()
    try:
        yield f"retry: {current_app.config['EVENTS_RETRY_MS']}\n\n".encode()
        if subscription.reset:
            yield frame(reset_event(subscription), user)
        for replayed in replay(subscription):
            yield frame(replayed, user)
        lagged = metrics.lag_observer()
        if body is not None:
            subscriber.write_now = functools.partial(_write_now, body, lagged)
        while True:
            # Whatever piled up while this stream waited for its turn leaves in one send.
            taken = subscriber.take()
            live = list(itertools.takewhile(lambda delivery: delivery is not CLOSED, taken))
            if live:
                yield b"".join(live_frame(delivery, user, lagged) for delivery in live)
            if len(live) < len(taken):
                return
    finally:
        metrics.stream_closed()
        presence.disconnected(user.id)


# --- long-poll --------------------------------------------------------------------------------


def poll(subscription: Subscription, timeout: float) -> tuple[list[dict[str, Any]], int]:
    """The next events for a client that cannot stream: at once if any are waiting, else the first to come."""
    user, limit = subscription.user, current_app.config["EVENTS_POLL_LIMIT"]
    presence.connected(user.id)  # online while polling, and for the grace period between polls
    try:
        if subscription.reset:
            return [as_json(reset_event(subscription), user)], subscription.upto
        found = list(replay(subscription, limit))
        if not found:
            delivery = subscription.subscriber.get(timeout=timeout)
            while delivery is not None and delivery is not CLOSED:
                found.append(delivery)
                if len(found) == limit:
                    break
                delivery = subscription.subscriber.get_nowait()
        stored = [d.id for d in found if d.id is not None]
        return [as_json(d, user) for d in found], stored[-1] if stored else subscription.upto
    finally:
        presence.disconnected(user.id)
        unsubscribe(subscription)
