"""Who is online: a user is, while at least one of their event streams is open (in any process).

Each process counts its own open streams per user. With Redis, each process that has a
user's stream is also a member of that user's sorted set, scored by when it lapses; one
thread per process renews all of its entries in a single pipeline every keep-alive
interval, so a killed process leaves nobody online for long, and Redis sees one write per
process per interval rather than one per stream.

Presence is best effort, and never ends a stream: while Redis is down each process answers
from its own streams. What Redis (and the other processes' streams) could not hear meanwhile
is made good as soon as it answers again: the renewer runs at once, puts back the entries
that vanished or lapsed, removes those of users who left, and says again where each of those
users stands, so nobody is left `online` (or `offline`) by an outage.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from flask import Flask, current_app
from redis import Redis, RedisError
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.extensions import database
from app.extensions.database import db
from app.extensions.redis import redis_client, redis_health
from app.modules.rooms.models import Membership

from .broker import LISTEN_RETRY_SECONDS, PROCESS, announce

log = logging.getLogger(__name__)

_local = Counter[int]()
_unsettled: set[int] = set()  # users whose change Redis or the other processes may have missed
_lock = threading.Lock()
_renewer: threading.Thread | None = None
_renew_now = threading.Event()


def _key(app: Flask, user_id: int) -> str:
    return f"{app.config['EVENTS_CHANNEL']}:presence:{user_id}"


def _lapse(app: Flask) -> float:
    return time.time() + 3 * app.config["EVENTS_KEEPALIVE_SECONDS"]


def _elsewhere(redis: Redis, app: Flask, user_id: int) -> bool:
    """Whether another live process has a stream of this user."""
    key = _key(app, user_id)
    live = redis.zrangebyscore(key, time.time(), "+inf")
    return any(member.decode() != PROCESS for member in live)


def is_online(user_id: int) -> bool:
    with _lock:
        if _local[user_id] > 0:
            return True
    redis, app = redis_client(), current_app._get_current_object()
    if redis is None:
        return False
    try:
        return _elsewhere(redis, app, user_id)
    except RedisError as error:  # answered from this process only
        redis_health(app).failed("unreachable", error)
        return False


def connected(user_id: int) -> None:
    """Count a new stream; the user's first (anywhere) makes them online."""
    with _lock:
        _local[user_id] += 1
        first_here = _local[user_id] == 1
    if first_here:
        _changed(user_id, online=True)


def disconnected(user_id: int) -> None:
    """Count a closed stream; the user's last (anywhere) makes them offline."""
    with _lock:
        _local[user_id] -= 1
        last_here = _local[user_id] <= 0
        if last_here:
            del _local[user_id]
    if last_here:
        _changed(user_id, online=False)


def _changed(user_id: int, *, online: bool) -> None:
    """Record this process's first stream of the user (or its last gone) in Redis, and announce it."""
    redis, app = redis_client(), current_app._get_current_object()
    elsewhere = False
    if redis is not None:
        _ensure_renewer(app, redis)
        try:
            if online:
                elsewhere = _elsewhere(redis, app, user_id)
                redis.zadd(_key(app, user_id), {PROCESS: _lapse(app)})
            else:
                redis.zrem(_key(app, user_id), PROCESS)
                elsewhere = _elsewhere(redis, app, user_id)
        except RedisError as error:
            redis_health(app).failed("unreachable", error)
            _unsettle(user_id)
    if not elsewhere and not _announce(user_id, online=online):
        _unsettle(user_id)


def _unsettle(user_id: int) -> None:
    with _lock:
        _unsettled.add(user_id)


def _ensure_renewer(app: Flask, redis: Redis) -> None:
    global _renewer
    with _lock:
        if _renewer is None:
            redis_health(app).on_recovery.append(_renew_now.set)
            _renewer = threading.Thread(target=_renew_forever, args=(app, redis), daemon=True)
            _renewer.start()


def _renew_forever(app: Flask, redis: Redis) -> None:
    """Every keep-alive interval, and as soon as Redis answers again after an outage."""
    while True:
        recovered = _renew_now.wait(app.config["EVENTS_KEEPALIVE_SECONDS"])
        _renew_now.clear()
        try:
            with app.app_context():
                _renew(app, redis, recovered=recovered)
        except (OperationalError, PoolTimeoutError) as error:  # logged once per outage
            database.unavailable(app, error)
        except Exception:  # presence must outlive any one round
            log.exception("presence: renewing failed; trying again at the next interval")


def _renew(app: Flask, redis: Redis, *, recovered: bool) -> None:
    """Keep this process's entries alive in one pipeline; then settle what an outage left unsaid.

    An entry found missing or lapsed (Redis restarted, or renewals failed for a while) means the
    other processes took the user for offline: they hear again that the user is online. Just
    after an outage that is said only once the other processes listen again (pub/sub keeps
    nothing for a process that is not subscribed yet).
    """
    global _unsettled
    with _lock:
        users = list(_local)
        unsettled, _unsettled = _unsettled, set()
    recovered = recovered or redis_health(app).down  # this round may be what finds Redis back
    now, lapse = time.time(), _lapse(app)
    pipeline = redis.pipeline(transaction=False)
    for user_id in users:
        pipeline.zscore(_key(app, user_id), PROCESS)
        pipeline.zadd(_key(app, user_id), {PROCESS: lapse})
        pipeline.expire(_key(app, user_id), 3600)
    for user_id in unsettled.difference(users):
        pipeline.zrem(_key(app, user_id), PROCESS)
    try:
        replies = pipeline.execute()
    except RedisError as error:
        redis_health(app).failed("unreachable", error)
        with _lock:
            _unsettled |= unsettled
        return
    redis_health(app).answered()
    scores = replies[0 : 3 * len(users) : 3]
    lapsed = {user_id for user_id, score in zip(users, scores, strict=True) if score is None or score < now}
    if recovered and lapsed | unsettled:
        time.sleep(2 * LISTEN_RETRY_SECONDS)
    for user_id in lapsed | unsettled:
        if not _announce(user_id, online=is_online(user_id)):
            _unsettle(user_id)


def _announce(user_id: int, *, online: bool) -> bool:
    """`presence.updated` to everyone who shares a room with the user, and to the user."""
    rooms = list(db.session.scalars(select(Membership.room_id).where(Membership.user_id == user_id)))
    db.session.close()
    data = {"user_id": user_id, "online": online}
    return announce("presence.updated", data, room_ids=rooms, user_ids=[user_id])
