"""Scheduled messages: posted later by the scheduler, visible meanwhile to their author only."""

from flask import Flask

from app.extensions import jobs
from app.extensions.api import api


def init_app(app: Flask) -> None:
    from . import services
    from .resources import blp

    api.register_blueprint(blp)
    jobs.register(
        app,
        "messages.publish_scheduled",
        services.publish_due,
        app.config["SCHEDULED_MESSAGES_INTERVAL_SECONDS"],
    )
