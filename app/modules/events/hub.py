"""The per-process fan-out: one reader of the outbox hands each new event to the streams that may see it.

Streams never poll the database themselves. A broker (in-process, or Redis pub/sub
between processes) says "there are new events"; the hub's reader fetches everything
after the last id it handled, in id order, and offers each event to the local
subscribers of its room and of its user (indexed, so an event costs its audience, not
every stream). A subscriber decides what its user sees from the rooms it tracks, and
follows membership changes in the same order, so a removal ends a room at once.

Nor do streams keep time: every keep-alive interval one more thread of the hub reads the
access tokens of all its streams in one statement, ends those whose token no longer grants
access, and hands a keep-alive to the others that sent nothing in the last half interval. So a
thousand open streams cost one query per interval, and no timer each; and a busy stream, which
needs no keep-alive, is not woken for one (with 10,000 streams, every stream's keep-alive at the
same moment held each worker's loop, and the deliveries behind it, for a quarter of a second).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.extensions.database import db
from app.extensions.database_errors import unavailable

from . import services
from .models import Event

log = logging.getLogger(__name__)

BATCH = 500
# Keep-alives are handed out this many streams at a time, with a pause between: the streams woken
# by one slice write before the next is woken, and deliveries are not queued behind all of them.
KEEPALIVE_SLICE = 200
KEEPALIVE_PAUSE_SECONDS = 0.005
_hubs: weakref.WeakSet[Hub] = weakref.WeakSet()


@dataclass(frozen=True)
class Delivery:
    """An event as the hub passes it around: plain data, no database session attached."""

    type: str
    data: dict[str, Any]
    id: int | None = None  # None: ephemeral (typing, presence), never stored or replayed
    room_id: int | None = None
    user_id: int | None = None
    audience: str = "members"
    written_at: float | None = None  # a stored event's created_at as a Unix time (event lag)
    # Ephemeral events name their audience directly.
    room_ids: frozenset[int] = field(default_factory=frozenset)
    user_ids: frozenset[int] = field(default_factory=frozenset)
    # A batch (`presence.updated`): per item of `data["users"]`, that user's rooms. Each stream
    # gets the items about its own user or someone sharing a room with them (`narrowed`).
    item_rooms: tuple[frozenset[int], ...] = ()

    @cached_property
    def frame(self) -> bytes:
        """The SSE frame, serialised and encoded once however many streams send it."""
        return sse_frame(self.type, self.id, json.dumps(self.data, separators=(",", ":")))

    @cached_property
    def _items_by_room(self) -> dict[int, list[int]]:
        by_room: dict[int, list[int]] = {}
        for index, rooms in enumerate(self.item_rooms):
            for room_id in rooms:
                by_room.setdefault(room_id, []).append(index)
        return by_room

    @cached_property
    def _item_of_user(self) -> dict[int, int]:
        return {item["user_id"]: index for index, item in enumerate(self.data["users"])}

    @cached_property
    def _narrowings(self) -> dict[tuple[tuple[int, ...], int | None], Delivery | None]:
        return {}

    def narrowed(self, user_id: int, rooms: dict[int, str]) -> Delivery | None:
        """The part of a batch this user may see, or None; shared by every stream that sees the same part.

        Streams whose users share the same rooms of the batch get the same object, so its JSON
        is made once: 1,000 streams in one room cost one serialisation per batch, not 1,000.
        """
        by_room = self._items_by_room
        shared = tuple(sorted(room_id for room_id in rooms if room_id in by_room))
        own = self._item_of_user.get(user_id)
        if own is not None and not self.item_rooms[own].isdisjoint(shared):
            own = None  # already among the shared rooms' items
        key = (shared, own)
        if key not in self._narrowings:
            indexes = {index for room_id in shared for index in by_room[room_id]}
            if own is not None:
                indexes.add(own)
            users = [self.data["users"][index] for index in sorted(indexes)]
            self._narrowings[key] = Delivery(type=self.type, data={"users": users}) if users else None
        return self._narrowings[key]

    @classmethod
    def of(cls, event: Event) -> Delivery:
        return cls(
            type=event.type,
            data=event.data,
            id=event.id,
            room_id=event.room_id,
            user_id=event.user_id,
            audience=event.audience,
            written_at=event.created_at.timestamp(),
        )


CLOSED = Delivery(type="closed", data={})
# Stored events after which a stream's rooms (and so the hub's index of them) may differ.
MEMBERSHIP_CHANGES = frozenset({"member.added", "member.updated", "member.removed", "room.deleted"})
KEEPALIVE = Delivery(type="keep-alive", data={})


def sse_frame(type_: str, event_id: int | None, data: str) -> bytes:
    head = f"id: {event_id}\nevent: {type_}" if event_id is not None else f"event: {type_}"
    return f"{head}\ndata: {data}\n\n".encode()


class Subscriber:
    """One open stream (or long-poll) of one user: a queue of what that user may see.

    Until `start`, it buffers every event unfiltered: the stream has not yet read whose it
    is, the point (`floor`) its replay ends at, nor the rooms the user was in at that point.

    The queue is a deque and a flag rather than a `queue.Queue`: a put appends and sets the
    flag (under gevent, a wake-up only when the stream waits), and the stream takes everything
    queued at once (`take`): one wake-up and one send however many frames piled up.

    A stream whose server lets others write to its socket sets `write_now`: while it waits with
    nothing queued, a delivery goes straight out from the caller's loop (the hub's), without
    waking the stream; a delivery `write_now` declines (False) is queued as before.
    """

    def __init__(self, max_queue: int) -> None:
        self.user_id = 0  # no user's, until `start`
        self.token_id: int | None = None  # a stream's: the access token it lives by (long-polls: none)
        self.rooms: dict[int, str] | None = None
        self.floor = 0
        self.max_queue = max_queue
        self.closed = False
        self.put_at = 0.0  # when something was last queued (monotonic): a busy stream needs no keep-alive
        self.write_now: Callable[[Subscriber, Delivery], bool] | None = None  # not a cycle: given self
        self.parked = False  # in `_wait`: none of the stream's own writes is under way
        self._pending: list[Delivery] = []
        self._queue: deque[Delivery] = deque()
        self._ready = threading.Event()  # set after each put; the taker clears it before it looks

    def start(self, user_id: int, token_id: int | None, rooms: dict[int, str], floor: int) -> None:
        self.user_id, self.token_id, self.rooms, self.floor = user_id, token_id, rooms, floor
        pending, self._pending = self._pending, []
        for delivery in pending:
            self.offer(delivery)

    def offer(self, delivery: Delivery) -> None:
        rooms = self.rooms
        if self.closed:
            return
        if rooms is None:
            self._pending.append(delivery)
            return
        if delivery.id is not None:
            if delivery.id <= self.floor:
                return
            # Stored events come in id order: one at or below the last offered is a repeat.
            self.floor = delivery.id
        if delivery.item_rooms:
            narrowed = delivery.narrowed(self.user_id, rooms)
            if narrowed is not None:
                self._put(narrowed)
            return
        if self._sees(delivery, rooms):
            self._put(delivery)
        self._follow(delivery, rooms)

    def _sees(self, d: Delivery, rooms: dict[int, str]) -> bool:
        if d.id is None:
            return self.user_id in d.user_ids or not d.room_ids.isdisjoint(rooms)
        if d.user_id == self.user_id:
            return True
        if d.room_id is None:  # about another user alone
            return False
        role = rooms.get(d.room_id)
        return role is not None and (
            d.audience == "members" or role in services.AUDIENCES.get(d.audience, ())
        )

    def _follow(self, d: Delivery, rooms: dict[int, str]) -> None:
        """Keep the user's rooms as they are just after this event."""
        if d.room_id is None or d.type not in MEMBERSHIP_CHANGES:
            return
        if d.type == "room.deleted":
            rooms.pop(d.room_id, None)
        elif d.user_id == self.user_id and d.type in ("member.added", "member.updated"):
            rooms[d.room_id] = d.data.get("role", "member")
        elif d.user_id == self.user_id and d.type == "member.removed":
            rooms.pop(d.room_id, None)

    def _put(self, delivery: Delivery) -> None:
        if self._written_now(delivery):
            self.put_at = time.monotonic()
            return
        if len(self._queue) >= self.max_queue:
            # Too slow to keep up: end the stream; the client resumes from its last id.
            log.warning(
                "closing a stream of user %s that fell %d events behind", self.user_id, self.max_queue
            )
            self.close()
            return
        self._queue.append(delivery)
        self.put_at = time.monotonic()
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._queue.append(CLOSED)
        self._ready.set()

    def keep_alive(self) -> None:
        if self.closed or self._written_now(KEEPALIVE):
            return
        self._queue.append(KEEPALIVE)
        self._ready.set()

    def _written_now(self, delivery: Delivery) -> bool:
        """Sent straight to the stream's socket: it waits with nothing queued, and `write_now` took it."""
        write_now = self.write_now
        return self.parked and not self._queue and write_now is not None and write_now(self, delivery)

    def take(self) -> list[Delivery]:
        """Everything queued, oldest first, once there is something (streams: keep-alives come in between)."""
        self._wait(None)
        return [self._queue.popleft() for _ in range(len(self._queue))]

    def get(self, timeout: float) -> Delivery | None:
        """The next delivery, or None when `timeout` passes first."""
        return self._queue.popleft() if self._wait(timeout) else None

    def get_nowait(self) -> Delivery | None:
        return self._queue.popleft() if self._queue else None

    def _wait(self, timeout: float | None) -> bool:
        """Until something is queued (True) or `timeout` seconds pass (False); None: however long it takes.

        The flag is cleared before the queue is looked at, so a put after the look sets it again.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._ready.clear()
            if self._queue:
                return True
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            self.parked = True
            try:
                self._ready.wait(left)
            finally:
                self.parked = False


class Hub:
    """This process's subscribers, indexed by user and room so that an event costs only its audience.

    A started subscriber is in `_by_user` under its user and in `_by_room` under each room it
    tracks; one not started yet is in `_waiting`, and is offered everything. After an event that
    changes memberships, the subscribers it reached are indexed again under its room.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.poll_interval = app.config["EVENTS_POLL_SECONDS"]
        self.max_queue = app.config["EVENTS_MAX_QUEUE"]
        self._subscribers: set[Subscriber] = set()
        self._waiting: set[Subscriber] = set()  # not started: offered every event, to buffer
        self._by_user: dict[int, set[Subscriber]] = {}
        self._by_room: dict[int, set[Subscriber]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._last_id: int | None = None
        self._reader: threading.Thread | None = None
        self._closed = False
        # Started with the reader: e.g. the Redis listener, only in processes that serve streams.
        self.on_first_subscriber: list[Callable[[], None]] = []
        _hubs.add(self)

    # --- subscribers (called from request handlers, inside an app context) ---

    def subscribe(self) -> Subscriber:
        """A new subscriber, buffering from now on: `start` says whose it is once that has been read."""
        subscriber = Subscriber(self.max_queue)
        with self._lock:
            if self._closed:
                subscriber.close()
                return subscriber
            if self._last_id is None:  # idle until now: read on from the newest event
                self._last_id = services.latest_id()
            self._subscribers.add(subscriber)
            self._waiting.add(subscriber)
            self._ensure_reader()
        return subscriber

    def start(
        self,
        subscriber: Subscriber,
        user_id: int,
        token_id: int | None,
        rooms: dict[int, str],
        floor: int,
        most: int,
    ) -> bool:
        """Hand the subscriber to its user; False (and no longer subscribed) when they have `most` here."""
        with self._lock:
            if len(self._by_user.get(user_id, ())) >= most:
                self._unsubscribe(subscriber)
                return False
            subscriber.start(user_id, token_id, rooms, floor)
            if subscriber in self._waiting:  # else closed already: the hub is shutting down
                self._waiting.remove(subscriber)
                self._by_user.setdefault(user_id, set()).add(subscriber)
                for room_id in rooms:
                    self._by_room.setdefault(room_id, set()).add(subscriber)
        return True

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._unsubscribe(subscriber)

    def _unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber not in self._subscribers:
            return
        self._subscribers.remove(subscriber)
        if subscriber in self._waiting:
            self._waiting.remove(subscriber)
        else:
            _leave(self._by_user, subscriber.user_id, subscriber)
            for room_id in subscriber.rooms or ():
                _leave(self._by_room, room_id, subscriber)
        if not self._subscribers:
            self._last_id = None

    def _offer(self, delivery: Delivery) -> None:
        """Offer the delivery to its audience here (and to the waiting); with the lock held."""
        rooms: Collection[int]
        users: Collection[int]
        if delivery.id is None:
            rooms, users = delivery.room_ids, delivery.user_ids
        else:
            rooms = () if delivery.room_id is None else (delivery.room_id,)
            users = () if delivery.user_id is None else (delivery.user_id,)
        groups = [self._by_room[r] for r in rooms if r in self._by_room]
        groups += [self._by_user[u] for u in users if u in self._by_user]
        audience = groups[0] if len(groups) == 1 else set().union(*groups)
        for subscriber in audience:
            subscriber.offer(delivery)
        for subscriber in self._waiting:
            subscriber.offer(delivery)
        if delivery.type in MEMBERSHIP_CHANGES and delivery.room_id is not None:
            self._reindex(delivery.room_id, list(audience))  # a copy: it may be the room's own set

    def _reindex(self, room_id: int, changed: list[Subscriber]) -> None:
        """File the subscribers an event reached under its room again, as their rooms now say."""
        in_room = self._by_room.setdefault(room_id, set())
        for subscriber in changed:
            if subscriber.rooms is not None and room_id in subscriber.rooms:
                in_room.add(subscriber)
            else:
                in_room.discard(subscriber)
        if not in_room:
            del self._by_room[room_id]

    # --- what the broker calls ---

    def wake(self) -> None:
        self._wake.set()

    def deliver_ephemeral(self, delivery: Delivery) -> None:
        with self._lock:
            self._offer(delivery)

    def close(self) -> None:
        """End every stream now (the worker is shutting down); clients reconnect elsewhere."""
        with self._lock:
            self._closed = True
            for subscriber in self._subscribers:
                subscriber.close()
        self._wake.set()

    # --- the reader ---

    def _ensure_reader(self) -> None:
        if self._reader is None:
            self._reader = threading.Thread(target=self._read_forever, name="parley-events-hub", daemon=True)
            self._reader.start()
            name = "parley-events-keepalive"
            threading.Thread(target=self._keep_alive_forever, name=name, daemon=True).start()
            for hook in self.on_first_subscriber:
                hook()

    def _read_forever(self) -> None:
        while not self._closed:
            # Woken by the broker; the timeout also catches what a lost notification missed.
            self._wake.wait(self.poll_interval)
            self._wake.clear()
            try:
                while self._read_batch():
                    pass
            except (OperationalError, PoolTimeoutError) as error:
                unavailable(self.app, error)  # one log line per outage, not a traceback a second
                time.sleep(1)
            except Exception:
                log.exception("reading new events failed; retrying")
                time.sleep(1)

    def _keep_alive_forever(self) -> None:
        """Check the streams every keep-alive interval; a changed interval (tests) holds within 0.1 s."""
        checked = time.monotonic()
        while not self._closed:
            due = checked + self.app.config["EVENTS_KEEPALIVE_SECONDS"] - time.monotonic()
            if due > 0:
                time.sleep(min(due, 0.1))
                continue
            checked = time.monotonic()
            self._check_streams()

    def _check_streams(self) -> None:
        """End the streams whose access token no longer grants access; send the idle others a keep-alive.

        A stream that sent something in the last half interval goes without: no stream is silent
        for more than one and a half intervals (22.5 s by default), and an idle one gets one
        keep-alive per interval.
        """
        with self._lock:
            streams = [s for s in self._subscribers if s.token_id is not None]
        if not streams:
            return
        alive = None  # unknown: the database is away, and the streams stay
        try:
            with self.app.app_context():
                alive = services.live_tokens({s.token_id for s in streams if s.token_id is not None})
        except (OperationalError, PoolTimeoutError) as error:
            unavailable(self.app, error)
        except Exception:
            log.exception("checking the streams' tokens failed; keeping them until the next check")
        busy_since = time.monotonic() - self.app.config["EVENTS_KEEPALIVE_SECONDS"] / 2
        idle = []
        with self._lock:
            for stream in streams:
                if alive is not None and stream.token_id not in alive:
                    stream.close()
                elif stream.put_at < busy_since:
                    idle.append(stream)
        for start in range(0, len(idle), KEEPALIVE_SLICE):
            if start:
                time.sleep(KEEPALIVE_PAUSE_SECONDS)
            with self._lock:
                for stream in idle[start : start + KEEPALIVE_SLICE]:
                    stream.keep_alive()

    def _read_batch(self) -> bool:
        """Hand out the next events; True when there may be more."""
        with self._lock:
            last = self._last_id
        if last is None:
            return False
        with self.app.app_context():
            stmt = select(Event).where(Event.id > last).order_by(Event.id).limit(BATCH)
            batch = [Delivery.of(event) for event in db.session.scalars(stmt)]
        if not batch:
            return False
        with self._lock:
            if self._last_id != last:  # everyone left meanwhile
                return False
            for delivery in batch:
                self._offer(delivery)
            self._last_id = batch[-1].id
        return len(batch) == BATCH


def _leave(index: dict[int, set[Subscriber]], key: int, subscriber: Subscriber) -> None:
    group = index.get(key)
    if group is not None:
        group.discard(subscriber)
        if not group:
            del index[key]


def close_all() -> None:
    """End the streams of every hub in this process (gunicorn worker shutdown)."""
    for hub in list(_hubs):
        hub.close()
