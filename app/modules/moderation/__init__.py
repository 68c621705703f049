"""Moderation: reports about users, the bans they bring, and administrators lifting them.

Above messages (a report may cite one) and users (a ban is a state of the account).
"""

from flask import Flask

from app.extensions.api import api


def init_app(app: Flask) -> None:
    from . import models  # noqa: F401  (registers the tables)
    from .resources import blp

    api.register_blueprint(blp)
