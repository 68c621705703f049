"""Events: the outbox of changes, fanned out to Server-Sent Event streams and long-polls."""

from flask import Flask

from app.extensions import jobs
from app.extensions.api import api
from app.extensions.database import on_every_session


def init_app(app: Flask) -> None:
    from . import broker, presence, services
    from .resources import blp

    broker.init_app(app)
    presence.init_app(app, app.extensions["parley.events"])
    api.register_blueprint(blp)
    jobs.register(app, "events.purge_expired", services.purge_expired)
    on_every_session("before_commit", services.write_events)
    on_every_session("after_rollback", services.forget_events)
    on_every_session("after_commit", broker.announce_committed)
