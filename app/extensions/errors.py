"""The single error shape of the API: `{code, status, message, errors?}`."""

from __future__ import annotations

from typing import Any, NoReturn

from flask import current_app
from flask_smorest import abort as smorest_abort
from werkzeug.exceptions import HTTPException


def abort(status: int, message: str, **kwargs: Any) -> NoReturn:
    """Stop the request with a JSON error; `errors=` names fields, `headers=` adds headers."""
    smorest_abort(status, message=message, **kwargs)
    raise AssertionError("unreachable")  # pragma: no cover - smorest_abort always raises


def error_payload(error: HTTPException) -> tuple[dict[str, Any], dict[str, str]]:
    """Build the body and headers for any HTTP error, always with a `message`."""
    data = getattr(error, "data", None) or {}
    payload: dict[str, Any] = {
        "code": error.code,
        "status": error.name,
        "message": data.get("message") or _default_message(error),
    }
    errors = data.get("errors") or data.get("messages")
    if errors:
        payload["errors"] = errors
    headers = dict(data.get("headers") or {})
    # Exceptions raised outside abort() (Flask-Limiter's 429, 405) carry their own headers.
    if not headers and error.response is None:
        headers = {k: v for k, v in error.get_headers() if k.lower() not in ("content-type",)}
    return payload, headers


def _default_message(error: HTTPException) -> str:
    if error.code == 500:
        return "The server hit an unexpected error; it has been logged."
    if error.code == 413:  # werkzeug's, for a chunked body read past MAX_CONTENT_LENGTH
        return f"Request bodies are limited to {current_app.config['MAX_CONTENT_LENGTH']} bytes."
    if error.code == 422:
        return "The request has invalid fields."
    if error.code == 429:
        return f"Too many requests (limit: {error.description}); retry after the Retry-After delay."
    return error.description or error.name or "Error"
