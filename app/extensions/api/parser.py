"""Request parsing: webargs' Flask parser, strict about what a JSON body is."""

from __future__ import annotations

from typing import Any

from flask import current_app
from webargs.flaskparser import FlaskParser

from .errors import abort


class ParleyParser(FlaskParser):
    """Refuse non-JSON and oversized JSON bodies where a JSON body is expected.

    webargs would otherwise treat a form-encoded body as missing, and answer
    422 "field required", hiding the real mistake (the wrong content type).
    """

    def load_json(self, req: Any, schema: Any) -> Any:
        if req.content_length is None and not req.get_data(cache=True):
            return super().load_json(req, schema)
        if not req.is_json:
            abort(
                400,
                "The body must be JSON (Content-Type: application/json).",
                errors={"headers": {"Content-Type": ["Expected application/json."]}},
            )
        if (req.content_length or 0) > current_app.config["MAX_JSON_BODY_BYTES"]:
            abort(413, f"JSON bodies are limited to {current_app.config['MAX_JSON_BODY_BYTES']} bytes.")
        return _without_nul(super().load_json(req, schema), "json")

    def load_querystring(self, req: Any, schema: Any) -> Any:
        return _without_nul(super().load_querystring(req, schema), "query")

    def _handle_invalid_json_error(self, error: Any, req: Any, *args: Any, **kwargs: Any) -> Any:
        abort(400, "The body is not valid JSON.", errors={"json": ["Invalid JSON body."]})

    def handle_error(
        self, error: Any, req: Any, schema: Any, *, error_status_code: Any, error_headers: Any
    ) -> Any:
        abort(
            error_status_code or self.DEFAULT_VALIDATION_STATUS,
            "The request has invalid fields.",
            errors=error.normalized_messages(),
            headers=error_headers,
        )


def _without_nul(data: Any, location: str) -> Any:
    """Refuse NUL characters anywhere: PostgreSQL cannot store them, and no text needs them."""
    bad = sorted(_fields_with_nul(data))
    if bad:
        abort(
            422,
            "Text may not contain NUL characters.",
            errors={location: {field: ["NUL characters are not allowed."] for field in bad}},
        )
    return data


def _fields_with_nul(data: Any, field: str = "") -> set[str]:
    if isinstance(data, str):
        return {field or "_body"} if "\x00" in data else set()
    if isinstance(data, dict) or hasattr(data, "items"):
        return set().union(*(_fields_with_nul(value, key) for key, value in data.items()), set())
    if isinstance(data, list):
        return set().union(*(_fields_with_nul(value, field) for value in data), set())
    return set()


parser = ParleyParser()
