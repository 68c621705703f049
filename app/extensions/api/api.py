"""The smorest Api: the OpenAPI document, Swagger UI and the JSON error handler."""

from __future__ import annotations

import re
from http import HTTPStatus
from pathlib import Path
from typing import Any

import flask_smorest
import flask_swagger_ui
from flask import Blueprint as FlaskBlueprint
from flask import Flask, current_app, request, send_from_directory
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException, default_exceptions
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter, ValidationError

from ..errors import abort, error_payload
from .document import (
    PAGINATION_HEADER,
    PAGINATION_METADATA,
    AnswerPlugin,
    PaginationMetadataSchema,
    example_of,
)
from .parser import UNSTORABLE_TEXT

SWAGGER_UI_ASSETS = Path(flask_swagger_ui.__file__).parent / "dist"


class ErrorSchema(Schema):
    """The body of every error; its field examples make one 422 (see `Api._add_error_examples`)."""

    code = fields.Integer(required=True, metadata={"description": "HTTP status code", "example": 422})
    status = fields.String(
        required=True, metadata={"description": "HTTP status name", "example": "Unprocessable Entity"}
    )
    message = fields.String(
        required=True,
        metadata={"description": "Human-readable summary", "example": "The request has invalid fields."},
    )
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={
            "description": "Bad fields by location (`json`, `query`, `files`, `headers`)",
            "example": {"json": {"body": ["Missing data for required field."]}},
        },
    )


MAX_ID = 2**31 - 1
# The most items one page of a listing holds, offset pages (`page_size`) and timelines (`limit`) alike.
MAX_PAGE_SIZE = 100
# What the examples of errors say that werkzeug's defaults do not: which limit a 429 is about.
ERROR_EXAMPLE_DESCRIPTIONS = {429: "600 per 1 minute"}
ROW_ID = re.compile(r"[0-9]{1,10}")


def row_id(ref: str) -> int | None:
    """`ref` as a row id (1 to MAX_ID), or None when it is something else (`me`, a code)."""
    return int(ref) if ROW_ID.fullmatch(ref) and 1 <= int(ref) <= MAX_ID else None


class IdConverter(IntegerConverter):
    """`<id:name>`: a resource id, 1 to 2**31-1; anything else is simply not found (404)."""

    def __init__(self, url_map: Any) -> None:
        super().__init__(url_map, min=1, max=MAX_ID)


class TextConverter(UnicodeConverter):
    """`<name>`, `<string:name>`: a segment holding NUL matches nothing (404); no row has one."""

    def to_python(self, value: str) -> str:
        if UNSTORABLE_TEXT.search(value):
            raise ValidationError
        return value


class TextPathConverter(TextConverter, PathConverter):
    """`<path:name>`, likewise."""


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema

    def init_app(self, app: Flask, *, spec_kwargs: dict[str, Any] | None = None) -> None:
        app.url_map.converters["id"] = IdConverter
        app.url_map.converters.update(default=TextConverter, string=TextConverter, path=TextPathConverter)
        self.register_converter(IdConverter, lambda _: {"type": "integer", "minimum": 1, "maximum": MAX_ID})
        # First, so that its swagger_ui.html (pre-filled client id) wins over smorest's.
        app.register_blueprint(_swagger_assets)
        super().init_app(app, spec_kwargs={"marshmallow_plugin": AnswerPlugin(), **(spec_kwargs or {})})
        app.before_request(_refuse_oversized_body)
        self._add_oauth2_security_scheme(app)
        self._add_answer_headers()
        self._add_error_examples(app)
        # Relative to where the document was fetched from, unless the operator named the origin.
        self.spec.options["servers"] = [
            {"url": app.config["PUBLIC_URL"] or "/", "description": "This Parley server"}
        ]

    def handle_http_exception(self, error: HTTPException) -> ResponseReturnValue:
        payload, headers = error_payload(error)
        if error.code and error.code >= 500:
            current_app.logger.error("%s %s", error.code, payload["message"])
        return payload, error.code or 500, headers

    def _register_pagination_header(self) -> None:
        """`X-Pagination` is JSON: documented as `application/json` content, with its schema."""
        self.spec.components.schema(PAGINATION_METADATA, schema=PaginationMetadataSchema)
        self.spec.components.header("PAGINATION", PAGINATION_HEADER, lazy=True)

    def _add_answer_headers(self) -> None:
        """Every 429 says when to come back, and every 401 how to authenticate, as the answers do."""
        responses = self.spec.components.responses_lazy
        responses["TOO_MANY_REQUESTS"]["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before trying again",
                "example": 30,
                "schema": {"type": "integer", "minimum": 0},
            }
        }
        responses["UNAUTHORIZED"]["headers"] = {
            "WWW-Authenticate": {
                "description": 'RFC 6750 challenge: `Bearer realm="parley"`, with `error="invalid_token"` '
                "when the token sent is unknown, expired or revoked",
                "example": 'Bearer realm="parley", error="invalid_token"',
                "schema": {"type": "string"},
            }
        }

    def _add_error_examples(self, app: Flask) -> None:
        """One example per error status, as `error_payload` writes it, shared by every operation."""
        examples: dict[str, Any] = {}
        with app.app_context():
            for code, exception in default_exceptions.items():
                example, _ = error_payload(exception(description=ERROR_EXAMPLE_DESCRIPTIONS.get(code)))
                examples[HTTPStatus(code).name] = example
        examples["UNPROCESSABLE_ENTITY"] = example_of(ErrorSchema)
        # What an operation answers beyond the statuses it lists is, in practice, the unexpected error.
        examples["DEFAULT_ERROR"] = examples["INTERNAL_SERVER_ERROR"]
        for name, example in examples.items():
            self.spec.components.responses_lazy[name]["content"]["application/json"]["example"] = example

    def _add_oauth2_security_scheme(self, app: Flask) -> None:
        endpoint = "/auth/oauth2/token"
        scopes = app.config["OAUTH2_SCOPES"]
        self.spec.components.security_scheme(
            "oauth2",
            {
                "type": "oauth2",
                "description": "In Swagger UI: client_id `documentation`, no secret (password flow). "
                "The authorization-code flow requires PKCE (S256) from public clients such as `web`; "
                "client credentials are for confidential clients registered at `/api/v1/auth/clients`.",
                "flows": {
                    "password": {"tokenUrl": endpoint, "refreshUrl": endpoint, "scopes": scopes},
                    "authorizationCode": {
                        "authorizationUrl": "/auth/oauth2/authorize",
                        "tokenUrl": endpoint,
                        "refreshUrl": endpoint,
                        "scopes": scopes,
                    },
                    "clientCredentials": {"tokenUrl": endpoint, "scopes": scopes},
                },
            },
        )


def _refuse_oversized_body() -> None:
    """Answer 413 from the declared length, before any handler reads (or rejects) the body.

    A request without Content-Length (most of them) is let through on one environ lookup:
    `request.content_length` looks up two headers, each miss raising a KeyError.
    """
    if not request.environ.get("CONTENT_LENGTH"):
        return
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if (length := request.content_length) is not None and length > limit:
        abort(413, f"Request bodies are limited to {limit} bytes.")


_swagger_assets = FlaskBlueprint("swagger_assets", __name__, template_folder="templates")


@_swagger_assets.get("/api/v1/docs/assets/<path:filename>")
def swagger_asset(filename: str) -> ResponseReturnValue:
    """Serve Swagger UI from the installed package: the docs work offline."""
    return send_from_directory(SWAGGER_UI_ASSETS, filename, max_age=86400)


api = Api()
