"""Parley: a chat server with a documented REST API."""

from __future__ import annotations

import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import CONFIGS


def create_app(config_name: str | None = None, **overrides: object) -> Flask:
    """Build the application; `overrides` win over the configuration class (tests use them)."""
    config_name = config_name or os.environ.get("PARLEY_CONFIG", "development")
    config_class = CONFIGS[config_name]
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config_class)
    app.config.update(overrides)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider's: keep the schemas' field order
    config_class.validate(app.config)
    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from . import extensions, health, modules

    extensions.init_app(app)
    modules.init_app(app)
    app.register_blueprint(health.blp)
    return app
