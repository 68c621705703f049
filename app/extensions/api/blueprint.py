"""A smorest Blueprint whose decorators enforce and document auth in one place."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from copy import deepcopy
from typing import Any

import flask_smorest
from flask import current_app
from flask_smorest.utils import (
    resolve_schema_instance,
    set_status_and_headers_in_response,
    unpack_tuple_response,
)
from marshmallow import Schema, fields
from marshmallow.validate import Range
from werkzeug.wrappers import Response

from .. import ratelimit
from ..auth import current_user, protector
from ..schemas import ALREADY_DUMPED, DumpContext
from .api import MAX_ID, MAX_PAGE_SIZE
from .document import LOCATION_HEADER, add_manual_doc, mark_answer
from .parser import parser
from .resolve import resolve

WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
_LIMIT_HEADERS_DOC = {
    name: {"description": description, "example": example, "schema": {"type": "integer"}}
    for name, description, example in zip(
        ratelimit.LIMIT_HEADERS,
        ("Requests allowed in the window", "Requests left in it", "When it resets (seconds since the epoch)"),
        (600, 599, 1796051105),
        strict=True,
    )
}


def _bound_integers(schema_fields: dict[str, fields.Field]) -> None:
    """Give every integer input without a stated maximum the range of an id (±MAX_ID).

    Python's integers are unbounded and the databases' are not: `?page=10**20` would reach
    SQLite as an OverflowError, a 500. Bounded here, it is a 422 naming the field, and the
    OpenAPI document shows the bound. A field that states its own maximum keeps it.
    """
    for field in schema_fields.values():
        integer = field.inner if isinstance(field, fields.List) else field
        if not isinstance(integer, fields.Integer):
            continue
        ranges = [v for v in integer.validators if isinstance(v, Range)]
        if any(r.max is not None for r in ranges):
            continue
        low = max((r.min for r in ranges if r.min is not None), default=-MAX_ID)
        others = [v for v in integer.validators if not isinstance(v, Range)]
        integer.validators = [*others, Range(min=low, max=MAX_ID)]


def _wrap(func: Callable, before: Callable[..., None], **doc: Any) -> Callable:
    """`func`, calling `before(**kwargs)` first, with `doc` merged into its own OpenAPI doc."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        before(**kwargs)
        return func(*args, **kwargs)

    wrapper._apidoc = deepcopy(getattr(func, "_apidoc", {}))  # type: ignore[attr-defined]
    add_manual_doc(wrapper, **doc)
    return wrapper


def _limit_doc(func: Callable) -> dict[str, Any]:
    """The 429, and the X-RateLimit-* headers on every success answer of `func` (alternatives too)."""
    statuses = getattr(func, "_apidoc", {}).get("response", {}).get("responses", {})
    success = [status for status in statuses if str(status).startswith("2")]
    return {"429": "TOO_MANY_REQUESTS"} | {status: {"headers": _LIMIT_HEADERS_DOC} for status in success}


def _answer_doc(
    status_code: int, schema: Any, kwargs: dict[str, Any], location: bool = True
) -> dict[str, Any]:
    """Mark `schema` as an answer's; a 201 also documents its `Location` header."""
    mark_answer(schema)
    if location and int(status_code) == 201:
        return kwargs | {"headers": LOCATION_HEADER | (kwargs.get("headers") or {})}
    return kwargs


def _linked(
    decorator: Callable, status_code: int, links: dict[str, dict[str, str]] | None
) -> Callable[[Callable], Callable]:
    """`decorator`, also documenting OpenAPI links from the answer to the operations it enables.

    `links` maps an operationId to its parameters' runtime expressions (`$response.body#/id`):
    generated clients and Schemathesis's stateful tests follow them from one call to the next.
    """

    def decorate(func: Callable) -> Callable:
        wrapper = decorator(func)
        if links:
            documented = {
                operation_id[0].upper() + operation_id[1:]: {
                    "operationId": operation_id,
                    "parameters": parameters,
                }
                for operation_id, parameters in links.items()
            }
            add_manual_doc(wrapper, responses={status_code: {"links": documented}})  # as smorest keys it
        return wrapper

    return decorate


def _answering(func: Callable, status_code: int | str, schema: Any) -> Callable:
    """`func` answering as smorest's `response` makes it answer, in one layer, with its view and dump
    run in a `DumpContext` naming the caller as the viewer.

    smorest's wrapper also stored each dump for ETags (Parley has none) and reached Flask's proxies
    four times: with the viewer's layer around it, 30 calls of a history page. An answer a view has
    made already (`Dumped`, `DumpedObject`) is not dumped again.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with DumpContext({"viewer": current_user._get_current_object()}):
            result, status, headers = unpack_tuple_response(func(*args, **kwargs))
            if isinstance(result, Response):
                set_status_and_headers_in_response(result, status, headers)
                return result
            if schema is not None and not isinstance(result, ALREADY_DUMPED):
                result = schema.dump(result)
        answer = current_app.json.response(result)
        status = status_code if status is None else status
        set_status_and_headers_in_response(answer, None if status == 200 else status, None)
        for name, value in headers.items() if hasattr(headers, "items") else headers or ():
            answer.headers.add(name, value)  # as `Headers.extend` would, at a tenth of its calls
        return answer

    return wrapper


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = parser
    PAGINATION_ARGUMENTS_PARSER = parser
    DEFAULT_PAGINATION_PARAMETERS = {"page": 1, "page_size": 20, "max_page_size": MAX_PAGE_SIZE}
    # `@blp.resolve("room_id", lookup, permission)`: the URL's object, or its 404 or 403 (resolve.py).
    resolve = staticmethod(resolve)

    def auth_required(self, *scopes: str) -> Callable[[Callable], Callable]:
        """Require a bearer token holding every scope in `scopes`.

        Place it above `@blp.arguments`, so a caller without the scope gets 403,
        not a 422 about a body they may not send anyway. It documents the
        security requirement and the 401/403 answers of the operation.

        A write (a `post`, `put`, `patch` or `delete` method) also spends one of the
        caller's `USER_WRITE_RATE_LIMIT`, and is documented with its 429 and headers.
        """

        def decorator(func: Callable) -> Callable:
            write = func.__name__ in WRITE_METHODS

            def authorize(**kwargs: Any) -> None:
                protector.require(list(scopes))
                if write:
                    ratelimit.spend("USER_WRITE_RATE_LIMIT", "writes", str(current_user.id))

            responses = {"401": "UNAUTHORIZED", "403": "FORBIDDEN"} | (_limit_doc(func) if write else {})
            return _wrap(func, authorize, security=[{"oauth2": list(scopes)}], responses=responses)

        return decorator

    def rate_limited(
        self, setting: str, scope: str, applies: Callable[..., bool] = lambda **kwargs: True
    ) -> Callable[[Callable], Callable]:
        """Spend one of the caller's `setting` (a config key) when `applies(**path)`, else 429.

        `path` holds the URL's values, or the objects `resolve` (above) made of them.

        Place it below `@blp.arguments` (an invalid body costs nothing) and above
        `@blp.response`, whose statuses get the X-RateLimit-* headers in the document.
        """

        def spend(**kwargs: Any) -> None:
            if applies(**kwargs):
                ratelimit.spend(setting, scope, str(current_user.id))

        return lambda func: _wrap(func, spend, responses=_limit_doc(func))

    def response(
        self,
        status_code: int,
        schema: Any = None,
        *,
        location: bool = True,
        links: dict[str, dict[str, str]] | None = None,
        **kwargs: Any,
    ) -> Callable:
        """smorest's `response`: its schema documented as always present, a 201 with `Location`
        (unless `location=False`: what it created has no URL of its own), and its `links`."""
        schema = resolve_schema_instance(schema)
        documented = super().response(
            status_code, schema, **_answer_doc(status_code, schema, kwargs, location)
        )

        def answer(func: Callable) -> Callable:
            wrapper = _answering(func, status_code, schema)
            wrapper._apidoc = documented(func)._apidoc  # type: ignore[attr-defined]
            return wrapper

        return _linked(answer, status_code, links)

    def alt_response(
        self,
        status_code: int,
        response: Any = None,
        *,
        links: dict[str, dict[str, str]] | None = None,
        **kwargs: Any,
    ) -> Callable:
        """smorest's `alt_response`, documented as `response` is."""
        answer = super().alt_response(
            status_code, response, **_answer_doc(status_code, kwargs.get("schema"), kwargs)
        )
        return _linked(answer, status_code, links)

    def arguments(self, schema: type[Schema] | Schema, *args: Any, **kwargs: Any) -> Callable:
        """smorest's `arguments`, with every integer field bounded (`_bound_integers`).

        A JSON body also documents the parser's other refusals: 400 (not JSON, too deep) and 413.
        """
        instance: Schema = resolve_schema_instance(schema)
        _bound_integers(instance.fields)
        parse = super().arguments(instance, *args, **kwargs)
        if kwargs.get("location", "json") != "json":
            return parse

        def decorator(func: Callable) -> Callable:
            wrapper = parse(func)
            add_manual_doc(wrapper, responses={"400": "BAD_REQUEST", "413": "REQUEST_ENTITY_TOO_LARGE"})
            return wrapper

        return decorator

    def paginate(self, *args: Any, **kwargs: Any) -> Callable[[Callable], Callable]:
        """smorest's `paginate`, with `page` bounded like every other integer."""
        paginate = super().paginate(*args, **kwargs)

        def decorator(func: Callable) -> Callable:
            wrapper = paginate(func)
            _bound_integers(wrapper._apidoc["pagination"]["parameters"]["schema"]._declared_fields)
            return wrapper

        return decorator

    def add_url_rule(
        self, rule: str, endpoint: str | None = None, view_func: Any = None, **options: Any
    ) -> None:
        """Document 404 on every operation whose path names an object."""
        super().add_url_rule(rule, endpoint, view_func, **options)
        if "<" in rule:
            key = endpoint or view_func.__name__
            for method, doc in self._docs[key].items():
                if method != "parameters":
                    answers = doc.setdefault("manual_doc", {}).setdefault("responses", {})
                    answers.setdefault("404", "NOT_FOUND")

    @staticmethod
    def _make_pagination_metadata(page: int, page_size: int, item_count: int) -> dict[str, int]:
        """docs/api.md's header: `{total, total_pages, page, page_size}`."""
        return {
            "total": item_count,
            "total_pages": math.ceil(item_count / page_size) if item_count else 0,
            "page": page,
            "page_size": page_size,
        }
