"""Domain modules; each package has `init_app(app)` and may have `seed()`.

They layer upward (`LAYERS`, bottom first): a module imports only modules of the layers below
its own, and `app/extensions` imports none. Only in the conversation layer do modules still
import one another (rooms, messages, files, scheduled and events are entangled). A lower module
tells higher ones what happened through signals they connect to (`users.signals`: sign-up,
deletion, renaming, profiles about to be shown), or applies rules they register (the events
outbox's `AUDIENCES` and `REPLAYED_IF`). tests/test_codebase.py walks the imports to hold to it.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from flask import Flask, current_app

LAYERS = (
    ("users",),  # accounts
    ("auth",),  # tokens and clients, for accounts
    ("rooms", "invites", "messages", "files", "scheduled", "events"),  # the conversation
    ("moderation", "search"),  # about what was said
    ("web",),  # the browser client: the API's, imports no module
)


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
