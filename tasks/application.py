"""Build the application for a task, and report the API's errors as plain messages."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from getpass import getpass
from typing import Any

from flask import Flask
from invoke.exceptions import Exit
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

# Where a request's input came from: an operator's options have no such place, so messages omit it.
LOCATIONS = {"json", "query", "form", "files", "headers"}


@contextmanager
def app_context(config: str | None = None) -> Iterator[Flask]:
    """An application context; the API's errors (validation, a service's abort) end the task
    with a non-zero exit and the message in words, as a client would read it in the error body."""
    from app import create_app

    app = create_app(config or os.environ.get("PARLEY_CONFIG", "development"))
    with app.app_context():
        try:
            yield app
        except ValidationError as error:
            raise Exit("\n".join(["error: invalid input", *in_words(error.messages)]), 1) from None
        except HTTPException as error:
            data = getattr(error, "data", {}) or {}
            message = data.get("message", error.description)
            raise Exit("\n".join([f"error: {message}", *in_words(data.get("errors", {}))]), 1) from None


def in_words(errors: Any, field: str = "") -> list[str]:
    """`{"json": {"username": ["Too short."]}}` as `["  username: Too short."]`, one line per field."""
    if not isinstance(errors, dict):
        messages = errors if isinstance(errors, list) else [errors]
        return [f"  {field or 'input'}: {' '.join(map(str, messages))}"]
    lines = []
    for key, value in errors.items():
        lines += in_words(value, field if not field and key in LOCATIONS else f"{field}.{key}".lstrip("."))
    return lines


def password_from(option: str) -> str:
    """The `--password` option; else asked for on a terminal; else the first line of stdin.

    Never asked for without a terminal: a script or cron job would hang, or (getpass's fallback)
    send an empty password.
    """
    if option:
        return option
    if sys.stdin.isatty():
        password = getpass("Password: ")
        if getpass("Password again: ") != password:
            raise Exit("error: the passwords differ", 1)
        return password
    password = sys.stdin.readline().removesuffix("\n")
    if not password:
        raise Exit("error: no password: give --password, run on a terminal, or pipe it on stdin", 1)
    return password
