"""Parley: a chat server with a documented REST API."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from werkzeug.middleware.proxy_fix import ProxyFix

from config import CONFIGS


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, at no cost to a request that sends no cookie.

    No Parley page keeps a session, yet Flask built its signing serializer on every request
    (about 30 calls) and read seven cookie settings after each, to find the session empty.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.environ.get("HTTP_COOKIE"):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if session or session.modified or session.accessed:
            super().save_session(app, session, response)


class Parley(Flask):
    """Flask, without the per-request work of what Parley does not use."""

    session_interface = CookieSessions()

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """A plain function as it is: Parley has no async view or hook, and Flask's test (through
        `inspect.iscoroutinefunction`) cost five calls for each view and hook of every request."""
        code = getattr(func, "__code__", None)
        if code is not None and not code.co_flags & inspect.CO_COROUTINE:
            return func
        return super().ensure_sync(func)


def create_app(config_name: str | None = None, **overrides: object) -> Flask:
    """Build the application; `overrides` win over the configuration class (tests use them)."""
    config_name = config_name or os.environ.get("PARLEY_CONFIG", "development")
    config_class = CONFIGS[config_name]
    app = Parley(__name__, instance_relative_config=True)
    app.config.from_object(config_class)
    app.config.update(overrides)
    config_class.validate(app.config)

    from . import extensions, health, modules
    from .extensions.json_answers import JSONAnswers

    app.json = JSONAnswers(app)
    extensions.init_app(app)
    modules.init_app(app)
    app.register_blueprint(health.blp)
    if app.config["PROXY_FIX_HOPS"]:  # outermost: every middleware sees the client's address and scheme
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    return app
