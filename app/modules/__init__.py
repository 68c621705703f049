"""Domain modules; each package has `init_app(app)` and may have `seed()`."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from flask import Flask, current_app


def _enabled(app: Flask) -> list[ModuleType]:
    return [import_module(f"{__name__}.{name}") for name in app.config["ENABLED_MODULES"]]


def init_app(app: Flask) -> None:
    for module in _enabled(app):
        module.init_app(app)


def seed() -> None:
    """Create what every deployment needs (built-in clients, `general`); idempotent."""
    for module in _enabled(current_app):
        if hasattr(module, "seed"):
            module.seed()
