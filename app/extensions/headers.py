"""Headers on every answer: what a browser may do with it, and whether anyone may keep it."""

from __future__ import annotations

from flask import Flask, Response, request

# Only these statuses tell a client when to come back (RFC 9110 §10.2.3, the API's 429).
_RETRY_STATUSES = frozenset({429, 503})
# Defaults for every answer; a view that sets one of these itself keeps its value.
DEFAULT_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    # URLs can carry authorization requests and invite codes: never hand them to another site.
    ("Referrer-Policy", "no-referrer"),
    # No page is meant to be framed; the password form and Swagger UI least of all.
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "frame-ancestors 'none'"),
    # Tokens, client secrets, stream tickets, invite codes: an answer that states no caching
    # policy of its own is never stored, so a new endpoint cannot forget to say so.
    ("Cache-Control", "no-store"),
)
_DEFAULTS_BY_NAME = {name.lower(): (name, value) for name, value in DEFAULT_HEADERS}


def init_app(app: Flask) -> None:
    """Register before Flask-Limiter: Flask runs after-request functions last-registered
    first, so these headers are settled after the limiter has added its own."""
    hsts = f"max-age={app.config['HSTS_SECONDS']}" if app.config["HSTS_SECONDS"] else None

    def add_security_headers(response: Response) -> Response:
        """Defaults for every answer (API, OAuth2, pages, Swagger UI, static files, errors).

        A view that sets one of these headers itself keeps its value: a download's sandboxing
        policy, a static file's caching. The answer's headers are read once, and only the
        missing defaults are added (a lookup per default cost a KeyError each time it missed).
        """
        headers = response.headers
        present = {name.lower() for name, _ in headers}
        missing = [pair for name, pair in _DEFAULTS_BY_NAME.items() if name not in present]
        if hsts is not None and "strict-transport-security" not in present and request.is_secure:
            missing.append(("Strict-Transport-Security", hsts))
        headers.extend(missing)
        # Flask-Limiter puts Retry-After on every answer of a limited endpoint, 2xx included.
        if "retry-after" in present and response.status_code not in _RETRY_STATUSES:
            headers.remove("Retry-After")
        return response

    app.after_request(add_security_headers)
