"""What the OpenAPI document says beyond smorest's defaults, so that generated clients are typed.

Generators read `required` as "always there": without it every field of every answer becomes
optional. The schemas of answers are therefore marked (by `Blueprint.response`) and their fields
are documented as required, except a field declared with `metadata={"optional": True}`, which
the server leaves out of some answers (say when, in its description).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from apispec.ext.marshmallow.common import get_fields
from flask_smorest.utils import deepupdate, resolve_schema_instance
from marshmallow import Schema, fields

_ANSWERS: set[type[Schema]] = set()

LOCATION_HEADER = {
    "Location": {
        "description": "URL of the created (or existing) resource",
        "example": "/api/v1/rooms/7",
        "schema": {"type": "string", "format": "uri-reference"},
    }
}


def add_manual_doc(func: Callable, **doc: Any) -> None:
    """Merge `doc` into what smorest will write for `func` in the OpenAPI document.

    A response already described in full (`resolve`'s 403 and 404) is not replaced by a bare
    reference to the generic one.
    """
    apidoc = func.__dict__.setdefault("_apidoc", {})
    manual = apidoc.get("manual_doc", {})
    described = manual.get("responses", {})
    if "responses" in doc:
        doc["responses"] = {
            status: answer
            for status, answer in doc["responses"].items()
            if not (isinstance(answer, str) and isinstance(described.get(status), dict))
        }
    apidoc["manual_doc"] = deepupdate(manual, doc)


def mark_answer(schema: Any) -> None:
    """Document every field of `schema` (and of the schemas it nests) as always present."""
    if schema is None or isinstance(schema, dict):
        return
    instance = resolve_schema_instance(schema)
    if type(instance) in _ANSWERS:
        return
    _ANSWERS.add(type(instance))
    for field in instance.fields.values():
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            mark_answer(inner.schema)


class AnswerConverter(OpenAPIConverter):
    """apispec's converter, listing an answer's fields as `required` (see the module's docstring).

    An open schema (marshmallow's INCLUDE, such as the OAuth2 forms) is written without apispec's
    `additionalProperties: true`: JSON Schema's default says the same, and openapi-generator takes a
    form that spells it out for a map, which it cannot generate (it logs an error per operation)."""

    def schema2jsonschema(self, schema: Any) -> dict[str, Any]:
        jsonschema = super().schema2jsonschema(schema)
        if jsonschema.get("additionalProperties") is True:
            del jsonschema["additionalProperties"]
        if type(resolve_schema_instance(schema)) in _ANSWERS:
            present = {
                field.data_key or name
                for name, field in get_fields(schema).items()
                if not field.load_only and not field.metadata.get("optional")
            }
            jsonschema["required"] = sorted(present | set(jsonschema.get("required", [])))
        return jsonschema


class AnswerPlugin(MarshmallowPlugin):
    """The marshmallow plugin the `Api` writes its document with: it also gives every JSON answer
    an example, built from its schema (see `example_of`), unless the operation wrote its own."""

    Converter = AnswerConverter

    def operation_helper(
        self, path: str | None = None, operations: dict | None = None, **kwargs: Any
    ) -> None:
        for media in _json_answers(operations or {}):
            written = "example" in media or "examples" in media
            # A schema named as a string is a component's, whose answers carry their own example.
            if not written and not isinstance(media.get("schema"), dict | str | None):
                media["example"] = example_of(media["schema"])
        super().operation_helper(path=path, operations=operations, **kwargs)


def _json_answers(operations: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The `application/json` content of each answer the operations write out (not by `$ref` name)."""
    for operation in operations.values():
        for answer in operation.get("responses", {}).values():
            if isinstance(answer, dict) and "application/json" in answer.get("content", {}):
                yield answer["content"]["application/json"]


# What a realistic answer holds, by field, unless the field has a `metadata["example"]`: `Schema.field`
# (the class's name, or a base class's) wins over `field`. Any other field shows a value of its type.
TIMESTAMP = "2026-11-29T15:04:05.123456+00:00"
EXAMPLES: dict[str, Any] = {
    "id": 42,
    "UserSchema.id": 1,
    "RoomSchema.id": 7,
    "room_id": 7,
    "owner_id": 1,
    "message_id": 42,
    "last_read_message_id": 42,
    "reported_user_id": 2,
    "reporter_id": 1,
    "last_event_id": 1234,
    "EventSchema.id": 1234,
    "member_count": 3,
    "unread_count": 2,
    "reply_count": 1,
    "count": 2,
    "uses": 1,
    "max_uses": 10,
    "size": 2048,
    "expires_in": 3600,
    "TicketSchema.expires_in": 30,
    "me": True,
    "confidential": True,
    "requires_approval": True,
    "username": "alice",
    "display_name": "Alice Liddell",
    "email": "alice@example.com",
    "name": "design",
    "ClientSchema.name": "My bot",
    "topic": "Mock-ups and reviews",
    "kind": "private",
    "role": "owner",
    "body": "Hello, everyone!",
    "emoji": ":thumbsup:",
    "filename": "minutes.txt",
    "content_type": "text/plain",
    "url": "/api/v1/files/42",
    "NewInviteSchema.url": "https://chat.example.com/#/invites/kQ3v9T0xWm2b",
    "code": "kQ3v9T0xWm2b",
    "code_prefix": "kQ3v",
    "reason": "Spam links",
    "error_description": "Invalid username or password.",
    "client_id": "my-bot",
    "client_secret": "Zk1pX0V4YW1wbGVTZWNyZXQ",
    "redirect_uris": ["https://bot.example.com/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "scope": "messages:read messages:write",
    "access_token": "pl_at_4f9d2c7b1e8a",
    "refresh_token": "pl_rt_9a1e7c2d5b3f",
    "ticket": "pl_tk_3c8e1f0a",
    "type": "message.created",
    "data": {"id": 42, "room_id": 7, "body": "Hello, everyone!"},
    "client_msg_id": "3f1c2a9e-7d41-4d0e-9a55-1b2c3d4e5f60",
    "attachment_ids": [42],
    "ScheduledMessageSchema.send_at": "2026-11-30T09:00:00+00:00",
}
_OF_TYPE: dict[str, Any] = {"integer": 42, "number": 1.5, "boolean": False, "object": {}, "array": []}


def example_of(schema: Any) -> Any:
    """An answer of `schema` as the server would write it: nested schemas recurse (a message shows
    its author and reactions, a room its last message), and a list answer holds one item."""
    instance = resolve_schema_instance(schema)
    example = {
        field.data_key or name: _field_example(type(instance), name, field)
        for name, field in instance.dump_fields.items()
    }
    return [example] if instance.many else example


def _field_example(schema: type[Schema], name: str, field: fields.Field) -> Any:
    """A field of `schema` with no example named shows null when it may (an unedited message's
    `edited_at`), else any value of its type: the document stays valid as schemas grow."""
    if "example" in field.metadata:
        return field.metadata["example"]
    for key in [f"{cls.__name__}.{name}" for cls in schema.__mro__] + [name]:
        if key in EXAMPLES:
            return EXAMPLES[key]
    if isinstance(field, fields.Nested):
        return example_of(field.schema)
    if isinstance(field, fields.List):
        return [_field_example(schema, name, field.inner)]
    if "enum" in field.metadata:
        return field.metadata["enum"][0]
    if field.allow_none:
        return None
    if isinstance(field, fields.DateTime) or field.metadata.get("format") == "date-time":
        return TIMESTAMP
    kinds = field.metadata.get("type") or {
        fields.Integer: "integer",
        fields.Boolean: "boolean",
        fields.Dict: "object",
    }.get(type(field), "string")
    kind = next(k for k in ([kinds] if isinstance(kinds, str) else kinds) if k != "null")
    return _OF_TYPE.get(kind, name.replace("_", " "))


class PaginationMetadataSchema(Schema):
    """The `X-Pagination` header of offset-paginated collections, as JSON."""

    total = fields.Integer(metadata={"description": "Items in the whole collection"})
    total_pages = fields.Integer(metadata={"description": "Pages of `page_size` items (0 when empty)"})
    page = fields.Integer(metadata={"description": "This page's number, from 1"})
    page_size = fields.Integer(metadata={"description": "Items per page (the `page_size` asked for)"})


def links_to(*operation_ids: str, **parameters: str) -> dict[str, dict[str, str]]:
    """For `@blp.response(links=…)`: each operation, called with `parameters` (runtime expressions
    such as `$response.body#/id` or `$request.path.room_id`)."""
    return {operation_id: dict(parameters) for operation_id in operation_ids}


mark_answer(PaginationMetadataSchema)

PAGINATION_METADATA = "PaginationMetadata"
# A header holds text: the JSON inside it is described with JSON Schema's own words for that
# (`contentMediaType`, `contentSchema`), rather than with the header's `content`, which generators
# (openapi-generator, Schemathesis) do not read: they fall back to an untyped string, with a warning.
PAGINATION_HEADER = {
    "description": 'Where this page stands, as JSON: `{"total", "total_pages", "page", "page_size"}`',
    "example": json.dumps({"total": 42, "total_pages": 3, "page": 1, "page_size": 20}),
    "schema": {
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": {"$ref": f"#/components/schemas/{PAGINATION_METADATA}"},
    },
}
