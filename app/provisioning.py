"""Bring a database to the current schema and seed what every deployment needs."""

from __future__ import annotations

from pathlib import Path

import flask_migrate
from flask import Flask
from sqlalchemy.engine import make_url

from config import BASE_DIR

from . import modules

MIGRATIONS_DIR = str(BASE_DIR / "migrations")


def prepare_database(app: Flask) -> None:
    """Migrate to head and seed; safe to run on every start (idempotent)."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    with app.app_context():
        flask_migrate.upgrade(directory=MIGRATIONS_DIR)
        modules.seed()
