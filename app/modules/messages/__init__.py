"""Messages: history with keyset cursors, replies, edits, tombstones, idempotent sending."""

from flask import Flask

from app.extensions import api


def init_app(app: Flask) -> None:
    from .resources import blp

    api.register_blueprint(blp)
