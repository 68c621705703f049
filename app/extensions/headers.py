"""Headers on every answer: what a browser may do with it, and whether anyone may keep it."""

from __future__ import annotations

from flask import Flask, Response, current_app, request

# Only these statuses tell a client when to come back (RFC 9110 §10.2.3, the API's 429).
_RETRY_STATUSES = frozenset({429, 503})


def init_app(app: Flask) -> None:
    """Register before Flask-Limiter: Flask runs after-request functions last-registered
    first, so these headers are settled after the limiter has added its own."""
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    """Defaults for every answer (API, OAuth2, pages, Swagger UI, static files, errors).

    A view that sets one of these headers itself keeps its value: a download's sandboxing
    policy, a static file's caching.
    """
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # URLs can carry authorization requests and invite codes: never hand them to another site.
    headers.setdefault("Referrer-Policy", "no-referrer")
    # No page is meant to be framed; the password form and Swagger UI least of all.
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    # Tokens, client secrets, stream tickets, invite codes: an answer that states no caching
    # policy of its own is never stored, so a new endpoint cannot forget to say so.
    headers.setdefault("Cache-Control", "no-store")
    # Flask-Limiter puts Retry-After on every answer of a limited endpoint, 2xx included.
    if response.status_code not in _RETRY_STATUSES:
        headers.pop("Retry-After", None)
    max_age = current_app.config["HSTS_SECONDS"]
    if max_age and request.is_secure:
        headers.setdefault("Strict-Transport-Security", f"max-age={max_age}")
    return response
