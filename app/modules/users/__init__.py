"""Accounts: sign-up, profiles, account deletion."""

from flask import Flask

from app.extensions.api import api


def init_app(app: Flask) -> None:
    from . import models  # noqa: F401  (registers the tables)
    from .resources import blp

    api.register_blueprint(blp)
