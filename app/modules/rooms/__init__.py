"""Rooms: public, private and direct rooms, roles, read markers (invites: the invites module)."""

from flask import Flask

from app.extensions.api import api


def init_app(app: Flask) -> None:
    from app.modules.events.services import AUDIENCES

    from .models import MANAGERS
    from .resources import blp

    AUDIENCES["managers"] = frozenset(MANAGERS)

    api.register_blueprint(blp)


def seed() -> None:
    from .services import ensure_general_room

    ensure_general_room()
