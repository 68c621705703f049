"""The Redis connection, when `REDIS_URL` is set (rate-limit counters, event fan-out)."""

from __future__ import annotations

from flask import Flask, current_app
from redis import Redis


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    app.extensions["parley.redis"] = Redis.from_url(url, socket_timeout=5) if url else None


def redis_client() -> Redis | None:
    """The shared client, or None when Parley runs without Redis."""
    return current_app.extensions["parley.redis"]
