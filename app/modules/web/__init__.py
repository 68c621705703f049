"""The browser client at `/`: static ES modules and CSS, a client of the public API only."""

from flask import Flask


def init_app(app: Flask) -> None:
    from .pages import blp

    app.register_blueprint(blp)
