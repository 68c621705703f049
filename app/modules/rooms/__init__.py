"""Rooms: for now the `general` room and its membership; the REST API comes with the rooms issue."""

from flask import Flask


def init_app(app: Flask) -> None:
    from . import services  # noqa: F401  (connects the account signal handlers)


def seed() -> None:
    from .services import ensure_general_room

    ensure_general_room()
