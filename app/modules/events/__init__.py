"""Events: the outbox of changes, fanned out to Server-Sent Event streams and long-polls."""

from flask import Flask

from app.extensions import jobs
from app.extensions.api import api


def init_app(app: Flask) -> None:
    from . import broker, presence, services
    from .resources import blp

    broker.init_app(app)
    presence.init_app(app, app.extensions["parley.events"])
    api.register_blueprint(blp)
    jobs.register(app, "events.purge_expired", services.purge_expired)
