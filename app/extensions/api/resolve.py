"""The object a URL names, resolved once, and the caller's permission on it, checked once.

As the flask-restplus example server's `resolve_object_by_model` and `permission_required`: a
resource method receives the room, not its id, and is never reached by a caller who may not act
on it. A lookup answers 404 itself (an object the caller may not see does not exist for them); a
`Permission` names what it refuses, and that message is the 403's. Both answers are written into
the operation's OpenAPI document, so what a client may be refused is read there, not guessed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from copy import deepcopy
from typing import Any, TypeVar

from werkzeug.exceptions import Forbidden, HTTPException, NotFound

from ..auth import current_user
from ..errors import abort, error_payload
from .document import add_manual_doc

T = TypeVar("T")


def _error_content(error: HTTPException) -> dict[str, Any]:
    """An inline error answer, with the body `error` gives as its example."""
    example, _ = error_payload(error)
    return {"application/json": {"schema": "Error", "example": example}}


class Permission:
    """A predicate on `(object, caller)` (`(object, caller, parent)` for an object within another),
    with the message its refusal gives. `a & b` checks `a`, then `b`: the first refusal is the answer.
    Calling a permission answers whether it holds."""

    def __init__(self, *checks: tuple[Callable[..., bool], str]) -> None:
        self.checks = checks

    def __and__(self, other: Permission) -> Permission:
        return Permission(*self.checks, *other.checks)

    def __call__(self, *args: Any) -> bool:
        return self.refusal(*args) is None

    def refusal(self, *args: Any) -> str | None:
        """The message of the first check that does not hold, None when all do."""
        return next((denied for test, denied in self.checks if not test(*args)), None)

    @property
    def messages(self) -> list[str]:
        return [denied for _, denied in self.checks]


def permission(denied: str) -> Callable[[Callable[..., bool]], Permission]:
    """Make a predicate a `Permission` whose refusal is a 403 saying `denied`."""
    return lambda test: Permission((test, denied))


def require(allowed: Permission, obj: T, *context: Any) -> T:
    """`obj` when the caller has `allowed` on it, else 403 with the refusal's message.

    For objects that come from elsewhere than the URL (a query parameter); `resolve` calls it too.
    """
    refusal = allowed.refusal(obj, current_user, *context)
    if refusal is not None:
        abort(403, refusal)
    return obj


class Unresolved:
    """What `resolve(..., deferred=True)` hands a view: the URL's id, and `resolve()`, which looks
    the object up and checks the permission (the 404 or 403) as the decorator would have."""

    __slots__ = ("id", "resolve")

    def __init__(self, id_: Any, resolve: Callable[[], Any]) -> None:
        self.id, self.resolve = id_, resolve


def resolve(
    argument: str,
    lookup: Callable[..., Any],
    allowed: Permission | None = None,
    *,
    into: str | None = None,
    within: str | None = None,
    deferred: bool = False,
) -> Callable[[Callable], Callable]:
    """Replace the URL's `argument` by the object `lookup` finds (or its 404), checked by `allowed`.

    `lookup(value, caller)` finds a top-level object, as the modules' `*_or_404` helpers do; with
    `within`, the name of an object resolved by a decorator above, `lookup(parent, value)` finds
    one inside it (a room's message), and `allowed` gets the parent too. The method receives the
    object as `into` (by default `argument` without its `_id`/`_ref`). Place it below
    `auth_required` (a bad token is a 401 before any lookup) and `@blp.arguments` (input is
    checked first, as the API always did: a malformed request is a 400 or 422 whatever it names),
    and above `rate_limited`, which then sees the objects.

    `deferred`: the method gets an `Unresolved` and resolves it itself, when its own statement
    could not tell (a history page whose statement reads only a member's messages resolves the
    room only when it finds none). The answers and their documentation are the same.
    """
    name = into or argument.removesuffix("_id").removesuffix("_ref")

    def decorator(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            value = kwargs.pop(argument)
            parent = () if within is None else (kwargs[within],)

            def resolved() -> Any:
                obj = lookup(*parent, value) if parent else lookup(value, current_user)
                if allowed is not None:
                    require(allowed, obj, *parent)
                return obj

            return func(*args, **kwargs, **{name: Unresolved(value, resolved) if deferred else resolved()})

        wrapper._apidoc = deepcopy(getattr(func, "_apidoc", {}))  # type: ignore[attr-defined]
        _document(wrapper, name, allowed.messages if allowed else [])
        return wrapper

    return decorator


def _document(wrapper: Callable, name: str, refusals: list[str]) -> None:
    """The 404 naming every object the operation resolves, the 403 every refusal it may give.

    Stacked decorators add to what those below them wrote (their lists travel on the wrapper).
    """
    missing = [name.replace("_", " "), *wrapper.__dict__.get("_resolved", [])]
    refused = [*refusals, *(m for m in wrapper.__dict__.get("_refusals", []) if m not in refusals)]
    wrapper._resolved, wrapper._refusals = missing, refused  # type: ignore[attr-defined]
    responses: dict[str, Any] = {
        "404": {
            "description": f"Not found: no such {', or '.join(missing)} that you may see",
            "content": _error_content(NotFound(f"No such {missing[0]}.")),
        }
    }
    if refused:
        reasons = " ".join(refused)
        responses["403"] = {
            "description": f"Forbidden: the token lacks the operation's scope, or: {reasons}",
            "content": _error_content(Forbidden(refused[0])),
        }
    add_manual_doc(wrapper, responses=responses)
