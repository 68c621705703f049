"""Messages: history with keyset cursors, replies, edits, tombstones, idempotent sending."""

from flask import Flask

from app.extensions import jobs
from app.extensions.api import api


def init_app(app: Flask) -> None:
    from . import services
    from .resources import blp

    api.register_blueprint(blp)
    jobs.register(app, "messages.sweep_expired", services.sweep_expired)
