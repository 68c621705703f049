"""Messages: history with keyset cursors, replies, edits, tombstones, idempotent sending."""

from flask import Flask

from app.extensions import jobs
from app.extensions.api import api


def init_app(app: Flask) -> None:
    from app.modules.events.services import REPLAYED_IF

    from . import services
    from .models import unexpired_event
    from .resources import blp

    REPLAYED_IF["messages"] = unexpired_event

    api.register_blueprint(blp)
    jobs.register(app, "messages.sweep_expired", services.sweep_expired)
