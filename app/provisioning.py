"""Bring a database to the current schema and seed what every deployment needs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import flask_migrate
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from config import BASE_DIR

from . import modules
from .extensions import db

MIGRATIONS_DIR = str(BASE_DIR / "migrations")


# Any constant: PostgreSQL advisory locks are identified by a number.
PROVISIONING_LOCK = 0x7061726C6579


def prepare_database(app: Flask) -> None:
    """Migrate to head and seed; safe to run on every start, by several instances at once."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    with app.app_context(), _exclusive(url.get_backend_name()):
        flask_migrate.upgrade(directory=MIGRATIONS_DIR)
        modules.seed()


@contextmanager
def _exclusive(backend: str) -> Iterator[None]:
    """On PostgreSQL, one instance provisions while the others wait (then find nothing to do).

    The lock is held on a connection of its own, outside the pool: the migrations need one
    from the pool, which may be a single connection (`PARLEY_DB_POOL_SIZE=1`).
    """
    if backend != "postgresql":
        yield
        return
    engine = create_engine(db.engine.url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PROVISIONING_LOCK})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PROVISIONING_LOCK})
                connection.commit()
    finally:
        engine.dispose()


if __name__ == "__main__":
    # `python -m app.provisioning`: what gunicorn's master runs before forking workers.
    import os

    from app import create_app

    application = create_app(os.environ.get("PARLEY_CONFIG", "production"))
    if application.config["AUTO_UPGRADE_DATABASE"]:
        prepare_database(application)
