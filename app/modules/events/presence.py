"""Who is online: a user is, while at least one of their event streams is open (in any process).

Each process counts its own open streams per user. With Redis, each process that has a
user's stream is also a member of that user's sorted set, scored by when it lapses; one
thread per process renews all of its entries in a single pipeline every keep-alive
interval, so a killed process leaves nobody online for long, and Redis sees one write per
process per interval rather than one per stream. Presence is best effort: a Redis error
is logged and never ends a stream.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import Counter

from flask import Flask, current_app
from redis import Redis, RedisError
from sqlalchemy import select

from app.extensions.database import db
from app.extensions.redis import redis_client
from app.modules.rooms.models import Membership

from .broker import announce

log = logging.getLogger(__name__)

_PROCESS = secrets.token_hex(8)  # this process's member in the users' sorted sets
_local = Counter[int]()
_lock = threading.Lock()
_renewer: threading.Thread | None = None


def _key(app: Flask, user_id: int) -> str:
    return f"{app.config['EVENTS_CHANNEL']}:presence:{user_id}"


def _lapse(app: Flask) -> float:
    return time.time() + 3 * app.config["EVENTS_KEEPALIVE_SECONDS"]


def _elsewhere(redis: Redis, app: Flask, user_id: int) -> bool:
    """Whether another live process has a stream of this user."""
    key = _key(app, user_id)
    live = redis.zrangebyscore(key, time.time(), "+inf")
    return any(member.decode() != _PROCESS for member in live)


def is_online(user_id: int) -> bool:
    with _lock:
        if _local[user_id] > 0:
            return True
    redis = redis_client()
    if redis is None:
        return False
    try:
        return _elsewhere(redis, current_app._get_current_object(), user_id)
    except RedisError:
        log.warning("presence: Redis unavailable; answering from this process only")
        return False


def connected(user_id: int) -> None:
    """Count a new stream; the user's first (anywhere) makes them online."""
    with _lock:
        _local[user_id] += 1
        first_here = _local[user_id] == 1
    if not first_here:
        return
    redis, app = redis_client(), current_app._get_current_object()
    elsewhere = False
    if redis is not None:
        try:
            elsewhere = _elsewhere(redis, app, user_id)
            redis.zadd(_key(app, user_id), {_PROCESS: _lapse(app)})
        except RedisError:
            log.warning("presence: could not record user %s online in Redis", user_id)
        _ensure_renewer(app, redis)
    if not elsewhere:
        _announce(user_id, online=True)


def disconnected(user_id: int) -> None:
    """Count a closed stream; the user's last (anywhere) makes them offline."""
    with _lock:
        _local[user_id] -= 1
        last_here = _local[user_id] <= 0
        if last_here:
            del _local[user_id]
    if not last_here:
        return
    redis, app = redis_client(), current_app._get_current_object()
    elsewhere = False
    if redis is not None:
        try:
            redis.zrem(_key(app, user_id), _PROCESS)
            elsewhere = _elsewhere(redis, app, user_id)
        except RedisError:
            log.warning("presence: could not record user %s offline in Redis", user_id)
    if not elsewhere:
        _announce(user_id, online=False)


def _ensure_renewer(app: Flask, redis: Redis) -> None:
    global _renewer
    with _lock:
        if _renewer is None:
            _renewer = threading.Thread(target=_renew_forever, args=(app, redis), daemon=True)
            _renewer.start()


def _renew_forever(app: Flask, redis: Redis) -> None:
    """Keep this process's entries alive: one pipeline per interval, for all its users."""
    while True:
        time.sleep(app.config["EVENTS_KEEPALIVE_SECONDS"])
        with _lock:
            users = list(_local)
        pipeline = redis.pipeline(transaction=False)
        for user_id in users:
            pipeline.zadd(_key(app, user_id), {_PROCESS: _lapse(app)})
            pipeline.expire(_key(app, user_id), 3600)
        try:
            pipeline.execute()
        except RedisError:
            log.warning("presence: could not renew %d users in Redis", len(users))


def _announce(user_id: int, *, online: bool) -> None:
    """`presence.updated` to everyone who shares a room with the user, and to the user."""
    rooms = list(db.session.scalars(select(Membership.room_id).where(Membership.user_id == user_id)))
    db.session.close()
    announce("presence.updated", {"user_id": user_id, "online": online}, room_ids=rooms, user_ids=[user_id])
