"""The address clients reach Parley at, for URLs that outlive the request."""

from __future__ import annotations

from flask import current_app, request


def public_url() -> str:
    """The base URL (no trailing slash) for the OAuth2 issuer, its endpoints and invite links.

    `PARLEY_PUBLIC_URL` when set. Otherwise the request's own scheme and host: the Host header
    is the client's to choose, so an issuer or invite link built from it points wherever an
    attacker (or a poisoned cache) says. That is why production refuses to start unless the
    public URL is set or `TRUSTED_HOSTS` makes Flask refuse every other host (400).
    """
    return (current_app.config["PUBLIC_URL"] or request.host_url).rstrip("/")
