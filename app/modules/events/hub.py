"""The per-process fan-out: one reader of the outbox hands each new event to the streams that may see it.

Streams never poll the database themselves. A broker (in-process, or Redis pub/sub
between processes) says "there are new events"; the hub's reader fetches everything
after the last id it handled, in id order, and offers each event to every local
subscriber. A subscriber decides what its user sees from the rooms it tracks, and
follows membership changes in the same order, so a removal ends a room at once.

Nor do streams keep time: every keep-alive interval one more thread of the hub reads the
access tokens of all its streams in one statement, ends those whose token no longer grants
access, and hands the others a keep-alive. So a thousand open streams cost one query per
interval, and no timer each.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.extensions.database import db, unavailable

from . import services
from .models import Event

log = logging.getLogger(__name__)

BATCH = 500
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
KEEPALIVE = Delivery(type="keep-alive", data={})


def sse_frame(type_: str, event_id: int | None, data: str) -> bytes:
    head = f"id: {event_id}\nevent: {type_}" if event_id is not None else f"event: {type_}"
    return f"{head}\ndata: {data}\n\n".encode()


class Subscriber:
    """One open stream (or long-poll) of one user: a queue of what that user may see.

    Until `start`, it buffers every event unfiltered: the stream has not yet read whose it
    is, the point (`floor`) its replay ends at, nor the rooms the user was in at that point.
    """

    def __init__(self, max_queue: int) -> None:
        self.user_id = 0  # no user's, until `start`
        self.token_id: int | None = None  # a stream's: the access token it lives by (long-polls: none)
        self.rooms: dict[int, str] | None = None
        self.floor = 0
        self.max_queue = max_queue
        self.closed = False
        self._pending: list[Delivery] = []
        self._queue: queue.Queue[Delivery] = queue.Queue()

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
        if d.room_id is None:  # no membership change is about no room
            return
        if d.type == "room.deleted":
            rooms.pop(d.room_id, None)
        elif d.user_id == self.user_id and d.type in ("member.added", "member.updated"):
            rooms[d.room_id] = d.data.get("role", "member")
        elif d.user_id == self.user_id and d.type == "member.removed":
            rooms.pop(d.room_id, None)

    def _put(self, delivery: Delivery) -> None:
        if self._queue.qsize() >= self.max_queue:
            # Too slow to keep up: end the stream; the client resumes from its last id.
            log.warning(
                "closing a stream of user %s that fell %d events behind", self.user_id, self.max_queue
            )
            self.close()
            return
        self._queue.put(delivery)

    def close(self) -> None:
        self.closed = True
        self._queue.put(CLOSED)

    def keep_alive(self) -> None:
        if not self.closed:
            self._queue.put(KEEPALIVE)

    def next(self) -> Delivery:
        """The next delivery, however long it takes (a stream's: the hub's keep-alives come in between)."""
        return self._queue.get()

    def get(self, timeout: float) -> Delivery | None:
        """The next delivery, or None when `timeout` passes first."""
        try:
            return self._queue.get_nowait()  # the common case under load; no timer to arm
        except queue.Empty:
            pass
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def get_nowait(self) -> Delivery | None:
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return None


class Hub:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.poll_interval = app.config["EVENTS_POLL_SECONDS"]
        self.max_queue = app.config["EVENTS_MAX_QUEUE"]
        self._subscribers: set[Subscriber] = set()
        self._per_user = Counter[int]()  # started subscribers of each user
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
            if self._per_user[user_id] >= most:
                self._unsubscribe(subscriber)
                return False
            if subscriber in self._subscribers:  # else closed already: the hub is shutting down
                self._per_user[user_id] += 1
            subscriber.start(user_id, token_id, rooms, floor)
        return True

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._unsubscribe(subscriber)

    def _unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)
            if subscriber.rooms is not None:
                self._per_user[subscriber.user_id] -= 1
                if not self._per_user[subscriber.user_id]:
                    del self._per_user[subscriber.user_id]
            if not self._subscribers:
                self._last_id = None

    # --- what the broker calls ---

    def wake(self) -> None:
        self._wake.set()

    def deliver_ephemeral(self, delivery: Delivery) -> None:
        with self._lock:
            for subscriber in self._subscribers:
                subscriber.offer(delivery)

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
        """End the streams whose access token no longer grants access; send the others a keep-alive."""
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
        with self._lock:
            for stream in streams:
                if alive is None or stream.token_id in alive:
                    stream.keep_alive()
                else:
                    stream.close()

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
                for subscriber in self._subscribers:
                    subscriber.offer(delivery)
            self._last_id = batch[-1].id
        return len(batch) == BATCH


def close_all() -> None:
    """End the streams of every hub in this process (gunicorn worker shutdown)."""
    for hub in list(_hubs):
        hub.close()
