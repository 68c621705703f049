"""Headers on every answer: what a browser may do with it, and whether anyone may keep it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# Only these statuses tell a client when to come back (RFC 9110 §10.2.3, the API's 429).
_RETRY_STATUSES = ("429", "503")
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
_SECURE_SCHEMES = ("https", "wss")


class SecurityHeaders:
    """WSGI middleware adding the defaults to the header list the app hands its server.

    Defaults for every answer (API, OAuth2, pages, Swagger UI, static files, errors), added
    after every after-request function (Flask-Limiter's included). A view that sets one of these
    headers itself keeps its value: a download's sandboxing policy, a static file's caching.
    Added to the final list of pairs rather than to the response's `Headers` in an after-request
    function: each `Headers.add` there cost about ten calls, a tenth of what `/healthz` paid.
    """

    def __init__(self, app: WSGIApplication, hsts_seconds: int) -> None:
        self.app = app
        self.hsts = ("Strict-Transport-Security", f"max-age={hsts_seconds}") if hsts_seconds else None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> object:
            present = {name.lower() for name, _ in headers}
            for name, pair in _DEFAULTS_BY_NAME.items():
                if name not in present:
                    headers.append(pair)
            if (
                self.hsts is not None
                and environ.get("wsgi.url_scheme") in _SECURE_SCHEMES
                and "strict-transport-security" not in present
            ):
                headers.append(self.hsts)
            # Flask-Limiter puts Retry-After on every answer of a limited endpoint, 2xx included.
            if "retry-after" in present and not status.startswith(_RETRY_STATUSES):
                headers[:] = [pair for pair in headers if pair[0].lower() != "retry-after"]
            return start_response(status, headers, exc_info)  # type: ignore[arg-type]

        return self.app(environ, start)  # type: ignore[arg-type]


def init_app(app: Flask) -> None:
    """Wrap the app's own WSGI callable: inside any proxy middleware, which has by then set the
    scheme the client used (HSTS is sent over TLS only)."""
    app.wsgi_app = SecurityHeaders(app.wsgi_app, app.config["HSTS_SECONDS"])  # type: ignore[method-assign]
