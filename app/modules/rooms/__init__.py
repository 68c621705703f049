"""Rooms: public, private and direct rooms, roles, invites with approval, read markers."""

from flask import Flask

from app.extensions.api import api


def init_app(app: Flask) -> None:
    from app.modules.events.services import AUDIENCES

    from .models import MANAGERS
    from .resources import blp, invites_blp

    AUDIENCES["managers"] = frozenset(MANAGERS)

    api.register_blueprint(blp)
    api.register_blueprint(invites_blp)


def seed() -> None:
    from .services import ensure_general_room

    ensure_general_room()
