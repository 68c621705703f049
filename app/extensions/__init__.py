"""Extensions, created bare here and bound to an application in `init_app`."""

from __future__ import annotations

from flask import Flask
from flask_marshmallow import Marshmallow
from flask_migrate import Migrate

from . import headers, jobs, metrics, ratelimit, redis, security
from . import logging as request_logging
from .api.api import api  # the object: mypy reads `.api`'s `api` as the submodule of that name
from .columns import render_migration_type
from .database import db

migrate = Migrate(
    directory="migrations", compare_type=True, render_as_batch=True, render_item=render_migration_type
)
ma = Marshmallow()


def init_app(app: Flask) -> None:
    headers.init_app(app)  # WSGI middleware: its headers are added after every after-request function
    request_logging.init_app(app)  # WSGI middleware around the above: the request id, the access line
    metrics.init_app(app)
    security.init_app(app)
    redis.init_app(app)
    jobs.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db)
    ma.init_app(app)
    ratelimit.init_app(app)
    api.init_app(app)
