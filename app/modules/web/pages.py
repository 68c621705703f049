"""Serves the single-page client and its assets; everything it shows comes from the public API."""

from __future__ import annotations

from flask import Blueprint, Response
from flask.typing import ResponseReturnValue

blp = Blueprint("web", __name__, static_folder="static", static_url_path="/web")

# Scripts and styles from this server only, no inline code, no eval: user text that slipped into
# the page as markup could still not run. `blob:` shows image previews of downloaded attachments.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


@blp.after_request
def restrict_page(response: Response) -> Response:
    """The page and its assets get the strict policy; their caching is Flask's `no-cache` with an
    ETag, so a browser revalidates and never runs a stale module beside a new one."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@blp.get("/")
def index() -> ResponseReturnValue:
    """The client itself; the URL's fragment (`#/rooms/1`, `#/invites/…`) is the client's own route."""
    return blp.send_static_file("index.html")


@blp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    """Browsers ask every page of this origin for it, the sign-in pages included."""
    return blp.send_static_file("icon.svg")
