"""What the OpenAPI document says beyond smorest's defaults, so that generated clients are typed.

Generators read `required` as "always there": without it every field of every answer becomes
optional. The schemas of answers are therefore marked (by `Blueprint.response`) and their fields
are documented as required, except a field declared with `metadata={"optional": True}`, which
the server leaves out of some answers (say when, in its description).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from apispec.ext.marshmallow.common import get_fields
from flask_smorest.utils import deepupdate, resolve_schema_instance
from marshmallow import Schema, fields

_ANSWERS: set[type[Schema]] = set()

LOCATION_HEADER = {
    "Location": {
        "description": "URL of the created (or existing) resource",
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
    """apispec's converter, listing an answer's fields as `required` (see the module's docstring)."""

    def schema2jsonschema(self, schema: Any) -> dict[str, Any]:
        jsonschema = super().schema2jsonschema(schema)
        if type(resolve_schema_instance(schema)) in _ANSWERS:
            present = {
                field.data_key or name
                for name, field in get_fields(schema).items()
                if not field.load_only and not field.metadata.get("optional")
            }
            jsonschema["required"] = sorted(present | set(jsonschema.get("required", [])))
        return jsonschema


class AnswerPlugin(MarshmallowPlugin):
    """The marshmallow plugin the `Api` writes its document with."""

    Converter = AnswerConverter


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

PAGINATION_HEADER = {
    "description": 'Where this page stands, as JSON: `{"total", "total_pages", "page", "page_size"}`',
    "content": {"application/json": {"schema": PaginationMetadataSchema}},
}
