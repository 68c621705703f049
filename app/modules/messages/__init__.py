"""Messages: the model and sending; history, edits and search come with the messages issue."""

from flask import Flask


def init_app(app: Flask) -> None:
    from . import models  # noqa: F401  (registers the table)
