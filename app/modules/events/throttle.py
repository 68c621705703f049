"""At most one of a kind per key and period, across processes: for ephemeral events nobody must flood.

With Redis, the first caller in a period sets a key that lapses with it (one `SET NX PX`), so
every process agrees. Without Redis, or while it is down, each process counts on its own: a
client spread over several processes may then get one through per process and period.
"""

from __future__ import annotations

import threading
import time

from flask import current_app
from redis import RedisError

from app.extensions.redis import redis_client, redis_health

_last: dict[str, float] = {}  # key: when it last got through in this process (monotonic)
_lock = threading.Lock()


def first_in(key: str, seconds: float) -> bool:
    """Whether this is the first call with `key` in the last `seconds` (and counts it)."""
    redis = redis_client()
    if redis is not None:
        try:
            name = f"{current_app.config['EVENTS_CHANNEL']}:throttle:{key}"
            return bool(redis.set(name, 1, nx=True, px=max(1, round(seconds * 1000))))
        except RedisError as error:  # this process decides alone
            redis_health().failed("unreachable", error)
    now = time.monotonic()
    with _lock:
        if now - _last.get(key, -seconds) < seconds:
            return False
        if len(_last) > 10_000:  # forget what has lapsed, now and then
            for old in [k for k, at in _last.items() if now - at >= seconds]:
                del _last[old]
        _last[key] = now
        return True
