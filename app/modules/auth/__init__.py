"""OAuth2: the authorization server, its pages, and users' own clients."""

from flask import Flask

from app.extensions import jobs
from app.extensions.api import api


def init_app(app: Flask) -> None:
    from . import oauth2, pages, resources, server, services

    server.init_app(app)
    jobs.register(app, "auth.purge_dead_credentials", services.purge_dead_credentials)
    api.register_blueprint(oauth2.blp)
    api.register_blueprint(resources.blp)
    app.register_blueprint(pages.blp)


def seed() -> None:
    from .services import ensure_builtin_clients

    ensure_builtin_clients()
