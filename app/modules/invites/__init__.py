"""Invites: links to a room, used at once or through a join request its managers approve."""

from flask import Flask

from app.extensions.api import api


def init_app(app: Flask) -> None:
    from .resources import blp

    api.register_blueprint(blp)
