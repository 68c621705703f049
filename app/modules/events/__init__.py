"""Events: the outbox of changes (the stream that delivers them comes with the events issue)."""

from flask import Flask


def init_app(app: Flask) -> None:
    from . import models  # noqa: F401  (registers the table)
