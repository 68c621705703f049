"""Search: full-text search of messages in the caller's rooms (SQLite FTS5, PostgreSQL tsvector)."""

from flask import Flask

from app.extensions.api import api


def init_app(app: Flask) -> None:
    from .resources import blp

    api.register_blueprint(blp)
