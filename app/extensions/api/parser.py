"""Request parsing: webargs' Flask parser, strict about what a JSON body is."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

import marshmallow
from flask import current_app, request
from marshmallow import EXCLUDE, RAISE, ValidationError, fields, missing, validate
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA
from webargs.core import _UNKNOWN_DEFAULT_PARAM
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from ..errors import abort

# Parley's bodies nest three levels at most; anything far deeper is an attack on the parser
# (or on whatever walks the data after it), never a request.
MAX_JSON_DEPTH = 32
# PostgreSQL cannot store NUL, and no encoder can write a lone UTF-16 surrogate (JSON allows
# `"\ud800"`): text holding either would fail in the database, so it is refused at the door.
UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")
# A query value `_plain_query` reads as an integer itself; any other spelling goes to marshmallow.
PLAIN_INTEGER = re.compile("[0-9]{1,10}")
UNBOUNDED = 10**10  # past any PLAIN_INTEGER


class ParleyParser(FlaskParser):
    """Refuse non-JSON and oversized JSON bodies where a JSON body is expected.

    webargs would otherwise treat a form-encoded body as missing, and answer
    422 "field required", hiding the real mistake (the wrong content type).
    """

    def parse(self, argmap: Any, req: Any = None, **kwargs: Any) -> Any:
        """webargs' parse; but a query string or a JSON body that a plain schema would load without
        an error is loaded by `_plain_query` or `_plain_body`, without webargs or marshmallow (a
        sixth of a history page's calls; 80 of a send's).

        Anything it does not answer for (a value spelled otherwise, out of range, a schema's own
        refusal) goes the whole way, so every refusal is the one webargs and the schema make.
        """
        location = kwargs.get("location")
        if (
            location in ("query", "json")
            and kwargs.get("unknown", _UNKNOWN_DEFAULT_PARAM) == _UNKNOWN_DEFAULT_PARAM
            and kwargs.get("validate") is None
        ):
            schema = self._get_schema(argmap, req)
            loaded = self._query_read(schema, req) if location == "query" else self._body_read(schema, req)
            if loaded is not None:
                return loaded
        return super().parse(argmap, req, **kwargs)

    def _query_read(self, schema: marshmallow.Schema, req: Any) -> Any:
        load = _plain_query(schema)
        return None if load is None else load(request.args if req is None else req.args)

    def _body_read(self, schema: marshmallow.Schema, req: Any) -> Any:
        """A JSON object that `_plain_body` loads: read (and refused) as `load_json` does, once.

        Anything else (no object, a field it does not load) goes the whole way: the body is read
        again from the request's cache, and every refusal is webargs' and the schema's own.
        """
        load = _plain_body(schema)
        if load is None:
            return None
        asked = request._get_current_object() if req is None else req  # type: ignore[attr-defined]
        body = self.load_json(asked, schema)  # on the request itself: through the proxy, seven reads
        return load(body) if type(body) is dict else None

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


def _plain_hooks(
    schema: marshmallow.Schema, *, pre_load: tuple[str, ...] = ()
) -> tuple[list[Callable[..., Any]], list[Callable[..., Any]]] | None:
    """The schema validators and `post_load` processors of a schema the plain loaders may load,
    called as marshmallow calls them; None for a schema with hooks they cannot run (`pre_load`
    hooks other than those named, field validator hooks, hooks on many or on the original data)."""
    hooks = schema._hooks
    later = [*hooks[VALIDATES_SCHEMA], *hooks[POST_LOAD]]
    if (
        any(name not in pre_load for name, _, _ in hooks[PRE_LOAD])
        or hooks[VALIDATES]
        or any(many or options.get("pass_original") for _, many, options in later)
    ):
        return None
    validators = [getattr(schema, name) for name, _, _ in hooks[VALIDATES_SCHEMA]]
    return validators, [getattr(schema, name) for name, _, _ in hooks[POST_LOAD]]


def _finished(
    data: dict[str, Any], hooks: tuple[list[Callable[..., Any]], list[Callable[..., Any]]], unknown: str
) -> Any:
    """`data` through the schema's validators and `post_load` hooks; None if a validator refuses it."""
    validators, processors = hooks
    try:
        for validator in validators:
            validator(data, partial=None, many=False, unknown=unknown)
    except ValidationError:
        return None
    for processor in processors:
        data = processor(data, partial=None, many=False, unknown=unknown)
    return data


@cache
def _plain_query(schema: marshmallow.Schema) -> Callable[[MultiDict[str, str]], Any] | None:
    """What `schema.load` makes of a query string, for a schema of plain fields; None for another.

    Plain: integers bounded by `Range`, strings free or `OneOf`, no `pre_load` nor field
    validator hooks, and schema validators and `post_load` hooks that take just the data (called
    as marshmallow calls them). The loader answers None where `load` might refuse or read the
    value otherwise: an integer not written as 1 to 10 ASCII digits, a value out of its range or
    choices, text no database can store (NUL: in any parameter, the unknown ones too, as
    `load_querystring` refuses it), a schema validator's refusal.
    """
    hooks = _plain_hooks(schema)
    if hooks is None:
        return None
    steps = []
    for name, field in schema.load_fields.items():
        kind, checks = type(field), field.validators
        if field.required or (kind is fields.Integer and field.strict):  # type: ignore[attr-defined]
            return None
        if kind is fields.Integer and all(type(check) is validate.Range for check in checks):
            if (bounds := _integer_range(checks)) is None:
                return None
            step: tuple[Any, ...] = (True, *bounds, None)
        elif kind is fields.String and len(checks) <= 1 and all(type(c) is validate.OneOf for c in checks):
            step = (False, 0, 0, frozenset(checks[0].choices) if checks else None)  # type: ignore[attr-defined]
        else:
            return None
        steps.append((field.data_key or name, field.attribute or name, field.load_default, *step))
    known = frozenset(key for key, *_ in steps)

    def load(args: MultiDict[str, str]) -> Any:
        for key in args:
            if key not in known and UNSTORABLE_TEXT.search(args[key]):
                return None
        data: dict[str, Any] = {}
        for key, attribute, default, integer, low, high, choices in steps:
            if key not in args:
                if default is not missing:
                    data[attribute] = default() if callable(default) else default
                continue
            raw = args[key]
            if integer:
                if not PLAIN_INTEGER.fullmatch(raw) or not low <= (value := int(raw)) <= high:
                    return None
                data[attribute] = value
            elif (raw not in choices) if choices is not None else UNSTORABLE_TEXT.search(raw):
                return None
            else:
                data[attribute] = raw
        return _finished(data, hooks, EXCLUDE)

    return load


@cache
def _plain_body(schema: marshmallow.Schema) -> Callable[[dict[str, Any]], Any] | None:
    """What `schema.load` makes of a JSON object, for a schema with plain fields; None for another.

    A message's body, say: loading it through marshmallow cost more calls than its INSERT. Plain:
    integers (bounded by `Range`), strings (`Length`, `OneOf`) and booleans, each given as JSON
    gives that type (`1`, not `1.0` nor `"1"`: marshmallow's loose readings are its own), or
    null where the field allows it. Other fields may be in the schema; a body that gives one is
    not loaded here, nor one missing a required field or naming an unknown one (a body schema
    refuses those), nor a value outside its bounds: the loader answers None and marshmallow
    answers. The base schema's `pre_load` refusal of loose booleans is kept by taking only
    `true` and `false`; `load_json` has refused unstorable text already.
    """
    hooks = _plain_hooks(schema, pre_load=("_refuse_loose_booleans",))
    if hooks is None or schema.many or schema.unknown != RAISE:
        return None
    steps = []
    for name, field in schema.load_fields.items():
        if (accepts := _plain_value(field)) is not None:
            steps.append((field.data_key or name, field.attribute or name, field, accepts))
        elif field.required:
            return None
    known = frozenset(key for key, *_ in steps)

    def load(body: dict[str, Any]) -> Any:
        if not known.issuperset(body):
            return None
        data: dict[str, Any] = {}
        for key, attribute, field, accepts in steps:
            if key in body:
                value = body[key]
                if not (accepts(value) or (value is None and field.allow_none)):
                    return None
                data[attribute] = value
            elif field.required:
                return None
            elif (default := field.load_default) is not missing:
                data[attribute] = default() if callable(default) else default
        return _finished(data, hooks, RAISE)

    return load


def _plain_value(field: fields.Field) -> Callable[[Any], bool] | None:
    """Whether a JSON value (not null) is one `field` loads as it is and its validators pass; None for
    a field that loads otherwise."""
    kind, checks = type(field), field.validators
    if kind is fields.Integer and all(type(check) is validate.Range for check in checks):
        if (bounds := _integer_range(checks)) is None:
            return None
        low, high = bounds
        return lambda value: type(value) is int and low <= value <= high
    if kind is fields.Boolean and not checks:
        return lambda value: type(value) is bool
    if kind is not fields.String or any(type(check) not in _STRING_CHECKS for check in checks):
        return None
    lengths = [_length_range(check) for check in checks if type(check) is validate.Length]
    shortest = max((least for least, _ in lengths), default=0)
    longest = min((most for _, most in lengths), default=UNBOUNDED)
    choices = [frozenset(check.choices) for check in checks if type(check) is validate.OneOf]
    return lambda value: (
        type(value) is str
        and shortest <= len(value) <= longest
        and all(value in allowed for allowed in choices)
    )


_STRING_CHECKS = (validate.Length, validate.OneOf)  # what a plain string field may be validated by


def _length_range(check: validate.Length) -> tuple[int, int]:
    """The lengths a `Length` admits, as inclusive bounds."""
    if check.equal is not None:
        return check.equal, check.equal
    return check.min or 0, UNBOUNDED if check.max is None else check.max


def _integer_range(checks: list[Any]) -> tuple[int, int] | None:
    """The integers every `Range` of `checks` admits, as inclusive bounds; None for a bound that is
    not an integer."""
    low, high = -UNBOUNDED, UNBOUNDED
    for check in checks:
        if not isinstance(check.min, int | None) or not isinstance(check.max, int | None):
            return None
        if check.min is not None:
            low = max(low, check.min if check.min_inclusive else check.min + 1)
        if check.max is not None:
            high = min(high, check.max if check.max_inclusive else check.max - 1)
    return low, high


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
