"""Build the application for a task, and report service errors as plain messages."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from invoke.exceptions import Exit
from werkzeug.exceptions import HTTPException


@contextmanager
def app_context(config: str | None = None) -> Iterator[Flask]:
    """An application context; a service's HTTP error becomes a non-zero exit with its message."""
    from app import create_app

    app = create_app(config or os.environ.get("PARLEY_CONFIG", "development"))
    with app.app_context():
        try:
            yield app
        except HTTPException as error:
            data = getattr(error, "data", {}) or {}
            raise Exit(
                f"error: {data.get('message', error.description)} {data.get('errors', '')}", 1
            ) from None
