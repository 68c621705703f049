"""Who is online: a user is, while at least one of their event streams is open (in any process).

Without Redis the count lives in this process. With Redis each open stream is a member
of the user's sorted set, scored by when it lapses unless its stream renews it (every
keep-alive), so a killed process cannot leave anyone online for long.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter

from flask import current_app
from sqlalchemy import select

from app.extensions.database import db
from app.extensions.redis import redis_client
from app.modules.rooms.models import Membership

from .broker import announce

_local = Counter[int]()
_lock = threading.Lock()


def _key(user_id: int) -> str:
    return f"{current_app.config['EVENTS_CHANNEL']}:presence:{user_id}"


def _lapse() -> float:
    return time.time() + 3 * current_app.config["EVENTS_KEEPALIVE_SECONDS"]


def _open_streams(user_id: int) -> int:
    redis = redis_client()
    if redis is None:
        with _lock:
            return _local[user_id]
    key = _key(user_id)
    _, count = redis.pipeline().zremrangebyscore(key, 0, time.time()).zcard(key).execute()
    return count


def is_online(user_id: int) -> bool:
    return _open_streams(user_id) > 0


def connected(user_id: int) -> str:
    """Count a new stream; its token renews and ends it."""
    token = secrets.token_hex(8)
    redis = redis_client()
    if redis is None:
        with _lock:
            _local[user_id] += 1
    else:
        redis.pipeline().zadd(_key(user_id), {token: _lapse()}).expire(_key(user_id), 3600).execute()
    if _open_streams(user_id) == 1:
        _announce(user_id, online=True)
    return token


def renew(user_id: int, token: str) -> None:
    redis = redis_client()
    if redis is not None:
        redis.zadd(_key(user_id), {token: _lapse()})


def disconnected(user_id: int, token: str) -> None:
    redis = redis_client()
    if redis is None:
        with _lock:
            _local[user_id] -= 1
            if _local[user_id] <= 0:
                del _local[user_id]
    else:
        redis.zrem(_key(user_id), token)
    if not is_online(user_id):
        _announce(user_id, online=False)


def _announce(user_id: int, *, online: bool) -> None:
    """`presence.updated` to everyone who shares a room with the user, and to the user."""
    rooms = list(db.session.scalars(select(Membership.room_id).where(Membership.user_id == user_id)))
    db.session.close()
    announce("presence.updated", {"user_id": user_id, "online": online}, room_ids=rooms, user_ids=[user_id])
