"""Who is online, told in batches: a user is, while a stream or long-poll of theirs is open (in any process).

A user goes offline `PRESENCE_GRACE_SECONDS` after their last stream or long-poll closes, so a
client that reconnects (or long-polls again) never flickers. Changes are not announced one by
one: each process gathers them, with what the other processes reported, and once per
`PRESENCE_INTERVAL_SECONDS` hands its streams one `presence.updated` batch, of which each stream
gets the users who share a room with its own (`Delivery.narrowed`). So 1,000 users coming online
in one room cost each stream a frame per interval, not 1,000 frames.

Each process counts its own open streams per user. With Redis, each process that has a user's
stream (or had, within the grace period) is also a member of that user's sorted set, scored by
when it lapses; the same thread that sends the batches renews all of its entries every keep-alive
interval, a few hundred users a pipeline, so a killed process leaves nobody online for long, and
Redis sees a few writes per process per interval rather than one per stream. A user's first stream here
adds the entry without waiting for it: one more thread writes the entries of every user who
arrived since its last write in one pipeline, so a thousand streams opening at once cost a few
round trips, not one each, and no stream waits for Redis. A user's last stream here closing
shortens the entry to the grace period the same way, in the same writes. When a user was last
seen is kept in one Redis hash (and in the process, which answers alone without Redis).

Presence is best effort, and never ends a stream: while Redis is down each process answers
from its own streams. What Redis (and the other processes' streams) could not hear meanwhile
is made good as soon as it answers again: the renewal runs at once, puts back the entries
that vanished or lapsed, removes those of users who left, and says again where each of those
users stands, so nobody is left `online` (or `offline`) by an outage.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from redis import Redis, RedisError
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.extensions import database_errors
from app.extensions.database import db
from app.extensions.redis import redis_health
from app.modules.rooms.models import Membership, Room
from app.modules.users.models import PresenceState, User
from app.modules.users.signals import profiles_shown

from .broker import LISTEN_RETRY_SECONDS, PROCESS, LocalBroker
from .hub import Delivery

log = logging.getLogger(__name__)

EVENT = "presence.updated"
# Users whose entries one round trip of a renewal renews: 5,000 in one pipeline held a worker's
# loop (and every delivery behind it) for a quarter of a second while redis-py packed and parsed it.
RENEW_SLICE = 250


class Presence:
    """One process's presence: its streams per user, and the changes its next batch will tell."""

    def __init__(self, app: Flask, broker: LocalBroker, redis: Redis | None) -> None:
        self.app, self.broker, self.redis = app, broker, redis
        self.channel = app.config["EVENTS_CHANNEL"]
        self.local = Counter[int]()
        self.leaving: dict[int, float] = {}  # user: when their last stream here closed (in grace)
        self.changes: dict[int, bool] = {}  # user: online, for this process's next batch
        self.heard: dict[int, tuple[dict[str, Any], frozenset[int]]] = {}  # from other processes
        self.seen: dict[int, float] = {}  # user: last seen, as this process knows it
        self.unsettled: set[int] = set()  # users whose change Redis or the other processes may have missed
        self.arrived: dict[int, bool] = {}  # user: back within their grace here, for the next entry write
        self.left: dict[int, float] = {}  # user: when their last stream here closed, for the next entry write
        self.lock = threading.Lock()
        self.renew_now = threading.Event()
        self.write_now = threading.Event()
        self.writing = threading.Lock()  # an entry write or a renewal, never both at once
        self.thread: threading.Thread | None = None
        broker.receivers[EVENT] = self.heard_from_elsewhere

    # --- keys and clocks ---

    def _key(self, user_id: int) -> str:
        return f"{self.channel}:presence:{user_id}"

    @property
    def _seen_key(self) -> str:
        return f"{self.channel}:presence:last_seen"

    def _lapse(self) -> float:
        return time.time() + 3 * self.app.config["EVENTS_KEEPALIVE_SECONDS"]

    def _elsewhere(self, redis: Redis, user_id: int) -> bool:
        """Whether another live process has a stream of this user (or had one, within the grace)."""
        return _others(redis.zrangebyscore(self._key(user_id), time.time(), "+inf"))

    def _failed(self, error: RedisError, user_ids: Iterable[int] = ()) -> None:
        redis_health(self.app).failed("unreachable", error)
        with self.lock:
            self.unsettled.update(user_ids)

    # --- what the streams call ---

    def connected(self, user_id: int) -> None:
        """Count a new stream; the user's first (anywhere) makes them online, unless still in grace.

        With Redis, whether another process has them is known once their entry is written (`_arrivals`).
        """
        with self.lock:
            self.local[user_id] += 1
            first_here = self.local[user_id] == 1
            back = self.leaving.pop(user_id, None) is not None  # never announced offline
            self._ensure_thread()
            if first_here and self.redis is not None:
                self.arrived.setdefault(user_id, back)  # one who left and came back: as they first came
                self.write_now.set()
            elif first_here and not back:
                self.changes[user_id] = True

    def disconnected(self, user_id: int) -> None:
        """Count a closed stream; after the user's last here, they stay online for the grace period.

        With Redis, their entry lapses at the end of it once written (`_write_entries`).
        """
        now = time.time()
        with self.lock:
            self.local[user_id] -= 1
            if self.local[user_id] > 0:
                return
            del self.local[user_id]
            self.leaving[user_id] = now
            self.seen[user_id] = now
            if self.redis is not None:
                self.left[user_id] = now
                self.write_now.set()

    def _change(self, user_id: int, *, online: bool) -> None:
        with self.lock:
            self.changes[user_id] = online

    # --- what the REST API shows ---

    def is_online(self, user_id: int) -> bool:
        with self.lock:
            if self.local[user_id] > 0 or user_id in self.leaving:
                return True
        if self.redis is None:
            return False
        try:
            return self._elsewhere(self.redis, user_id)
        except RedisError as error:  # answered from this process only
            redis_health(self.app).failed("unreachable", error)
            return False

    def states(self, user_ids: Iterable[int]) -> dict[int, tuple[bool, float | None]]:
        """Online, and when last seen (now for whoever is online), of each user, in two round trips."""
        users, now = list(dict.fromkeys(user_ids)), time.time()
        with self.lock:
            here = {user_id for user_id in users if self.local[user_id] > 0 or user_id in self.leaving}
            seen = {user_id: self.seen.get(user_id) for user_id in users}
        online = set(here)
        if self.redis is not None and users:
            try:
                with self.redis.pipeline(transaction=False) as pipeline:
                    for user_id in users:
                        pipeline.zrangebyscore(self._key(user_id), now, "+inf")
                    lives = pipeline.execute()
                stored = self.redis.hmget(self._seen_key, [str(user_id) for user_id in users])
            except RedisError as error:  # answered from this process only
                redis_health(self.app).failed("unreachable", error)
            else:
                for user_id, live, when in zip(users, lives, stored, strict=True):
                    if _others(live):
                        online.add(user_id)
                    if when is not None:
                        seen[user_id] = max(float(when), seen[user_id] or 0.0)
        return {user_id: (True, now) if user_id in online else (False, seen[user_id]) for user_id in users}

    # --- the batches ---

    def heard_from_elsewhere(self, delivery: Delivery) -> None:
        """Another process's batch: told to this process's streams with this process's next one."""
        with self.lock:
            for item, rooms in zip(delivery.data["users"], delivery.item_rooms, strict=True):
                self.heard[item["user_id"]] = (item, rooms)

    def _ensure_thread(self) -> None:
        """Called under the lock: the thread starts with the process's first stream."""
        if self.thread is None:
            if self.redis is not None:
                redis_health(self.app).on_recovery.append(self.renew_now.set)
                threading.Thread(target=self._entries, name="parley-presence-entries", daemon=True).start()
            self.thread = threading.Thread(target=self._run, name="parley-presence", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        """Every interval, a batch; every keep-alive interval (and as soon as Redis is back), a renewal."""
        app = self.app
        renew_at = time.monotonic() + app.config["EVENTS_KEEPALIVE_SECONDS"]
        while True:
            recovered = self.renew_now.wait(app.config["PRESENCE_INTERVAL_SECONDS"])
            self.renew_now.clear()
            try:
                with app.app_context():
                    if self.redis is not None:
                        self._write_entries()
                    if self.redis is not None and (recovered or time.monotonic() >= renew_at):
                        renew_at = time.monotonic() + app.config["EVENTS_KEEPALIVE_SECONDS"]
                        self._renew(self.redis, recovered=recovered)
                    self._settle_leavers()
                    self._send_batch()
            except (OperationalError, PoolTimeoutError) as error:  # logged once per outage
                database_errors.unavailable(app, error)
            except Exception:  # presence must outlive any one round
                log.exception("presence: a round failed; trying again at the next interval")

    def _settle_leavers(self) -> None:
        """Users whose grace ran out here: offline, unless another process has a stream of theirs."""
        cutoff = time.time() - self.app.config["PRESENCE_GRACE_SECONDS"]
        with self.lock:
            gone = [user_id for user_id, left in self.leaving.items() if left <= cutoff]
            for user_id in gone:
                del self.leaving[user_id]
        for user_id in gone:
            elsewhere = False
            if self.redis is not None:
                try:
                    self.redis.zrem(self._key(user_id), PROCESS)
                    elsewhere = self._elsewhere(self.redis, user_id)
                except RedisError as error:
                    self._failed(error, [user_id])
            if not elsewhere:
                self._change(user_id, online=False)

    def _send_batch(self) -> None:
        """This process's changes to every process; with what the others said, to this one's streams."""
        with self.lock:
            changes, self.changes = self.changes, {}
            heard, self.heard = self.heard, {}
        if not changes and not heard:
            return
        users = sorted(changes)
        rooms: dict[int, set[int]] = {user_id: set() for user_id in users}
        for start in range(0, len(users), 500):  # bounded IN lists
            chunk = users[start : start + 500]
            stmt = select(Membership.user_id, Membership.room_id).where(Membership.user_id.in_(chunk))
            for user_id, room_id in db.session.execute(stmt):
                rooms[user_id].add(room_id)
        db.session.close()
        seen = self.states(user_id for user_id in users if not changes[user_id]) if users else {}
        now = time.time()
        items = [
            {
                "user_id": user_id,
                "online": changes[user_id],
                "last_seen_at": _iso(now if changes[user_id] else seen[user_id][1]),
            }
            for user_id in users
        ]
        item_rooms = [frozenset(rooms[user_id]) for user_id in users]
        if items and not self.broker.publish_ephemeral(batch(items, item_rooms)):
            with self.lock:
                self.unsettled.update(users)
        for user_id, (item, its_rooms) in heard.items():
            if user_id not in changes:  # this process's own word is the newer
                items.append(item)
                item_rooms.append(its_rooms)
        self.broker.hub.deliver_ephemeral(batch(items, item_rooms))

    # --- entries (with Redis) ---

    def _entries(self) -> None:
        """Write the entries of the users who arrived here or left, all of those since the last write at once.

        A write waits a tenth of the batch interval for others to come: streams open (and close) a
        few milliseconds apart, and a round trip each would be most of their cost. No announcement
        is later for it (each batch writes what is waiting first), only other processes' answers.
        """
        while True:
            self.write_now.wait()
            time.sleep(self.app.config["PRESENCE_INTERVAL_SECONDS"] / 10)
            self.write_now.clear()
            try:
                self._write_entries()
            except Exception:  # presence must outlive any one write
                log.exception("presence: writing the entries of new and closed streams failed")

    def _write_entries(self) -> None:
        """Who else has each user who arrived, and this process's entries, in one round trip for them all.

        Each user is written as they stand at the write: one who left again keeps an entry that
        lapses with the grace period, one who came back within it a live one.
        """
        assert self.redis is not None
        elsewhere: dict[int, bool] = {}  # without Redis: only a reconnect within the grace was online
        with self.writing:
            with self.lock:
                arrived = {user_id: back for user_id, back in self.arrived.items() if self.local[user_id] > 0}
                left = {user_id: when for user_id, when in self.left.items() if self.local[user_id] == 0}
                self.arrived, self.left = {}, {}
            if not arrived and not left:
                return
            now, lapse, grace = time.time(), self._lapse(), self.app.config["PRESENCE_GRACE_SECONDS"]
            try:
                with self.redis.pipeline(transaction=False) as pipeline:
                    for user_id in arrived:
                        pipeline.zrangebyscore(self._key(user_id), now, "+inf")
                        pipeline.zadd(self._key(user_id), {PROCESS: lapse})
                    for user_id, when in left.items():
                        pipeline.zadd(self._key(user_id), {PROCESS: when + grace})
                    if left:
                        pipeline.hset(
                            self._seen_key, mapping={str(user_id): when for user_id, when in left.items()}
                        )
                    replies = pipeline.execute()
            except RedisError as error:
                self._failed(error, arrived.keys() | left.keys())
                elsewhere = arrived
            else:
                for (user_id, back), live in zip(
                    arrived.items(), replies[: 2 * len(arrived) : 2], strict=True
                ):
                    elsewhere[user_id] = back or _others(live)
        with self.lock:
            for user_id, online_already in elsewhere.items():
                if not online_already:
                    self.changes[user_id] = True

    # --- renewal (with Redis) ---

    def _renew(self, redis: Redis, *, recovered: bool) -> None:
        """Renew this process's entries, `RENEW_SLICE` users a round trip; settle what an outage left unsaid.

        An entry found missing or lapsed (Redis restarted, or renewals failed for a while) means the
        other processes took the user for offline: they hear again that the user is online. Just
        after an outage that is said only once the other processes listen again (pub/sub keeps
        nothing for a process that is not subscribed yet). Users whose entry is still to be written
        are left to that write (`_write_entries`), which they would otherwise seem to have lost.
        """
        recovered = recovered or redis_health(self.app).down  # this round may be what finds Redis back
        with self.writing:
            with self.lock:
                users = [user_id for user_id in self.local if user_id not in self.arrived]
                unsettled, self.unsettled = self.unsettled, set()
                kept = set(self.local) | set(self.leaving)
            now, lapse = time.time(), self._lapse()
            pipeline = redis.pipeline(transaction=False)
            replies: list[Any] = []
            try:
                for index, user_id in enumerate(users):
                    if index and not index % RENEW_SLICE:
                        replies += pipeline.execute()
                    pipeline.zscore(self._key(user_id), PROCESS)
                    pipeline.zadd(self._key(user_id), {PROCESS: lapse})
                    pipeline.expire(self._key(user_id), 3600)
                for user_id in unsettled - kept:
                    pipeline.zrem(self._key(user_id), PROCESS)
                replies += pipeline.execute()
            except RedisError as error:
                self._failed(error, unsettled)
                return
        redis_health(self.app).answered()
        scores = replies[0 : 3 * len(users) : 3]
        lapsed = {user for user, score in zip(users, scores, strict=True) if score is None or score < now}
        if recovered and lapsed | unsettled:
            time.sleep(2 * LISTEN_RETRY_SECONDS)
        for user_id in lapsed | unsettled:
            self._change(user_id, online=self.is_online(user_id))


def _others(live: Iterable[Any]) -> bool:
    """Whether a user's live entries name a process other than this one."""
    return any(member != PROCESS.encode() for member in live)


def batch(items: list[dict[str, Any]], item_rooms: list[frozenset[int]]) -> Delivery:
    """A `presence.updated` batch: each item reaches its user and whoever shares one of its rooms."""
    return Delivery(
        type=EVENT,
        data={"users": list(items)},
        room_ids=frozenset().union(*item_rooms),
        user_ids=frozenset(item["user_id"] for item in items),
        item_rooms=tuple(item_rooms),
    )


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


# --- the process's presence, from request handlers ---


def presence() -> Presence:
    return current_app.extensions["parley.presence"]


def connected(user_id: int) -> None:
    presence().connected(user_id)


def disconnected(user_id: int) -> None:
    presence().disconnected(user_id)


@profiles_shown.connect
def attach(users: list[User]) -> None:
    """Attach each user's presence for the profiles about to be shown: one round trip for a page."""
    states = presence().states(user.id for user in users)
    for user in users:
        online, seen = states[user.id]
        user.presence = PresenceState(online, None if seen is None else datetime.fromtimestamp(seen, UTC))


def having(room: Room, *, online: bool) -> list[int]:
    """The room's members who are online (or offline), for a listing to filter on."""
    members = list(db.session.scalars(select(Membership.user_id).where(Membership.room_id == room.id)))
    return [user_id for user_id, (state, _) in presence().states(members).items() if state == online]


def init_app(app: Flask, broker: LocalBroker) -> None:
    app.extensions["parley.presence"] = Presence(app, broker, app.extensions["parley.redis"])
