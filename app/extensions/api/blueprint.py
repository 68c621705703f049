"""A smorest Blueprint whose decorators enforce and document auth in one place."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from copy import deepcopy
from typing import Any

import flask_smorest

from ..auth import protector
from .parser import parser


def _add_manual_doc(func: Callable, **doc: Any) -> None:
    """Merge `doc` into what smorest will write for `func` in the OpenAPI document."""
    apidoc = func.__dict__.setdefault("_apidoc", {})
    manual = apidoc.setdefault("manual_doc", {})
    for key, value in doc.items():
        if isinstance(value, dict):
            manual.setdefault(key, {}).update(value)
        else:
            manual[key] = value


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = parser
    PAGINATION_ARGUMENTS_PARSER = parser
    DEFAULT_PAGINATION_PARAMETERS = {"page": 1, "page_size": 20, "max_page_size": 100}

    def auth_required(self, *scopes: str) -> Callable[[Callable], Callable]:
        """Require a bearer token holding every scope in `scopes`.

        Place it above `@blp.arguments`, so a caller without the scope gets 403,
        not a 422 about a body they may not send anyway. It documents the
        security requirement and the 401/403 answers of the operation.
        """

        def decorator(func: Callable) -> Callable:
            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                protector.require(list(scopes))
                return func(*args, **kwargs)

            wrapper._apidoc = deepcopy(getattr(func, "_apidoc", {}))  # type: ignore[attr-defined]
            _add_manual_doc(
                wrapper,
                security=[{"oauth2": list(scopes)}],
                responses={"401": "UNAUTHORIZED", "403": "FORBIDDEN"},
            )
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
                    doc.setdefault("manual_doc", {}).setdefault("responses", {})["404"] = "NOT_FOUND"

    @staticmethod
    def _make_pagination_metadata(page: int, page_size: int, item_count: int) -> dict[str, int]:
        """docs/api.md's header: `{total, total_pages, page, page_size}`."""
        return {
            "total": item_count,
            "total_pages": math.ceil(item_count / page_size) if item_count else 0,
            "page": page,
            "page_size": page_size,
        }
