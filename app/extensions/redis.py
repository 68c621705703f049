"""The Redis connection, when `REDIS_URL` is set (rate-limit counters, event fan-out)."""

from __future__ import annotations

from flask import Flask, current_app
from redis import BlockingConnectionPool, Redis


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    if not url:
        app.extensions["parley.redis"] = None
        return
    # A blocking pool: past its size, callers wait for a connection instead of failing.
    pool = BlockingConnectionPool.from_url(url, max_connections=100, timeout=10, socket_timeout=5)
    app.extensions["parley.redis"] = Redis(connection_pool=pool)


def redis_client() -> Redis | None:
    """The shared client, or None when Parley runs without Redis."""
    return current_app.extensions["parley.redis"]
