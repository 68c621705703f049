"""The Redis connection, when `REDIS_URL` is set (rate-limit counters, event fan-out).

Redis only speeds Parley up: events still reach every process through the outbox poll, and
presence and typing fall back to this process's own streams. So a Redis error is never an
answer to a client; the callers log it through `redis_health` (once per outage) and go on.
"""

from __future__ import annotations

from flask import Flask, current_app
from redis import BlockingConnectionPool, Redis

from .outages import Dependency


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    app.extensions["parley.redis.health"] = Dependency("Redis")
    if not url:
        app.extensions["parley.redis"] = None
        return
    # A blocking pool: past its size, callers wait for a connection instead of failing.
    # A short connect timeout: an unreachable host must not hold requests for the OS's minutes.
    pool = BlockingConnectionPool.from_url(
        url, max_connections=100, timeout=10, socket_timeout=5, socket_connect_timeout=2
    )
    app.extensions["parley.redis"] = Redis(connection_pool=pool)


def redis_client() -> Redis | None:
    """The shared client, or None when Parley runs without Redis."""
    return current_app.extensions["parley.redis"]


def redis_health(app: Flask | None = None) -> Dependency:
    """Whether Redis answered this process's last call (`app` for threads outside an app context)."""
    return (app or current_app).extensions["parley.redis.health"]
