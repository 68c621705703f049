"""Request parsing: webargs' Flask parser, strict about what a JSON body is."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import marshmallow
from flask import current_app
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import RequestEntityTooLarge

from ..errors import abort

# Parley's bodies nest three levels at most; anything far deeper is an attack on the parser
# (or on whatever walks the data after it), never a request.
MAX_JSON_DEPTH = 32
# PostgreSQL cannot store NUL, and no encoder can write a lone UTF-16 surrogate (JSON allows
# `"\ud800"`): text holding either would fail in the database, so it is refused at the door.
UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


class ParleyParser(FlaskParser):
    """Refuse non-JSON and oversized JSON bodies where a JSON body is expected.

    webargs would otherwise treat a form-encoded body as missing, and answer
    422 "field required", hiding the real mistake (the wrong content type).
    """

    def load_json(self, req: Any, schema: Any) -> Any:
        limit = current_app.config["MAX_JSON_BODY_BYTES"]
        if req.is_json:
            # A chunked body declares no length: read one byte past the limit, and no more.
            req.max_content_length = limit + 1
        try:
            body = req.get_data(cache=True)
        except RequestEntityTooLarge:
            abort(413, f"JSON bodies are limited to {limit} bytes.")
        if req.content_length is None and not body:
            return super().load_json(req, schema)
        if not req.is_json:
            abort(
                400,
                "The body must be JSON (Content-Type: application/json).",
                errors={"headers": {"Content-Type": ["Expected application/json."]}},
            )
        if max(len(body), req.content_length or 0) > limit:
            abort(413, f"JSON bodies are limited to {limit} bytes.")
        try:
            data = super().load_json(req, schema)
        except RecursionError:
            _refuse_deep_json()
        return _refuse_unstorable_text(data, "json")

    def load_querystring(self, req: Any, schema: Any) -> Any:
        return _refuse_unstorable_text(super().load_querystring(req, schema), "query")

    def load_files(self, req: Any, schema: Any) -> Any:
        """File names are stored as text too; a text field beside the upload is unknown, as in JSON."""
        names = {field: upload.filename for field, upload in req.files.items()}
        _refuse_unstorable_text(names, "files")
        if req.form:
            abort(
                422,
                "The request has invalid fields.",
                errors={"files": {name: ["Unknown field."] for name in req.form}},
            )
        return super().load_files(req, schema)

    def _get_schema(self, argmap: Any, req: Any) -> Any:
        """A schema class (smorest's pagination parameters) made an instance once, not per request.

        webargs makes one per parse, deep-copying its fields: about 4 % of a room list's CPU.
        """
        if isinstance(argmap, type) and issubclass(argmap, marshmallow.Schema):
            return _instance_of(argmap)
        return super()._get_schema(argmap, req)

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


@cache
def _instance_of(schema: type[marshmallow.Schema]) -> marshmallow.Schema:
    """The one instance of `schema` every parse shares: loading keeps no state in it."""
    return schema()


def unstorable_fields(req: Any) -> list[str]:
    """Query, form and HTTP Basic fields holding text no database can hold (NUL).

    For the endpoints that read the request themselves (OAuth2, the sign-in pages) and answer
    in shapes of their own; everything parsed through this parser is checked already.
    """
    fields = list(req.values.items(multi=True))
    if req.authorization is not None and req.authorization.type == "basic":
        fields.append(("Authorization", f"{req.authorization.username}:{req.authorization.password}"))
    return sorted({name for name, value in fields if UNSTORABLE_TEXT.search(value)})


def _refuse_deep_json() -> None:
    abort(
        400,
        f"JSON bodies may nest at most {MAX_JSON_DEPTH} levels deep.",
        errors={"json": [f"Nested deeper than {MAX_JSON_DEPTH} levels."]},
    )


def _refuse_unstorable_text(data: Any, location: str) -> Any:
    """Name every field whose text holds NUL or a lone surrogate (422).

    The walk is iterative and bounded by MAX_JSON_DEPTH: a deep body costs a 400, not a
    RecursionError.
    """
    bad: set[str] = set()
    pending = [(data, "", 0)]
    while pending:
        value, field, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            _refuse_deep_json()
        if isinstance(value, str):
            if UNSTORABLE_TEXT.search(value):
                bad.add(field or "_body")
        elif isinstance(value, list):
            pending.extend((item, field, depth + 1) for item in value)
        elif isinstance(value, dict) or hasattr(value, "items"):
            pending.extend((item, key, depth + 1) for key, item in value.items())
    if bad:
        abort(
            422,
            "Text may not contain NUL characters or unpaired surrogates.",
            errors={
                location: {
                    field: ["NUL characters and unpaired surrogates are not allowed."]
                    for field in sorted(bad)
                }
            },
        )
    return data


parser = ParleyParser()
