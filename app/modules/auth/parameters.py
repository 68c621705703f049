"""What the OAuth2 endpoints and `/api/v1/auth/clients` accept."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from marshmallow import INCLUDE, ValidationError, fields, validate, validates

from app.extensions.schemas import Schema


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _safe_redirect_uri(uri: str) -> None:
    """A code must travel only over TLS, or never leave the user's machine (RFC 8252 §7.3).

    A fragment would be dropped or mangled by the redirect (RFC 6749 §3.1.2).
    """
    parts = urlsplit(uri)
    if "#" in uri:
        raise ValidationError("A redirect URI has no fragment.")
    if parts.scheme != "https" and not _is_loopback(parts.hostname or ""):
        raise ValidationError("Use https; plain http only for 127.0.0.0/8, [::1] or localhost.")


class CreateClientParameters(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    confidential = fields.Boolean(load_default=True)
    redirect_uris = fields.List(
        fields.URL(
            schemes={"http", "https"},
            require_tld=False,
            validate=[validate.Length(max=500), _safe_redirect_uri],
        ),
        validate=validate.Length(max=10),
        metadata={"description": "https, or http on a loopback address; no fragment."},
    )
    scope = fields.String(
        validate=validate.Length(max=500),
        metadata={
            "description": "Space-separated scopes, within those of the token that registers the "
            "client; that token's scopes when omitted.",
            "example": "users:read rooms:read",
        },
    )

    @validates("scope")
    def _known_scopes(self, value: str, **_: Any) -> None:
        unknown = set(value.split()) - set(current_app.config["OAUTH2_SCOPES"])
        if unknown or not value.split():
            raise ValidationError(
                f"Unknown scopes: {' '.join(sorted(unknown))}" if unknown else "Empty scope."
            )


class OAuth2FormParameters(Schema):
    """An OAuth2 endpoint's form: RFC 6749 section 3.2 has unrecognized parameters ignored, and the
    document says so (`additionalProperties: true`)."""

    class Meta:
        unknown = INCLUDE


class TokenRequestParameters(OAuth2FormParameters):
    """Documents the token request (Authlib parses it, per RFC 6749)."""

    grant_type = fields.String(
        required=True,
        validate=validate.OneOf(["password", "client_credentials", "refresh_token", "authorization_code"]),
    )
    username = fields.String()
    password = fields.String(metadata={"format": "password"})
    refresh_token = fields.String()
    code = fields.String()
    redirect_uri = fields.String()
    code_verifier = fields.String()
    scope = fields.String()
    client_id = fields.String()
    client_secret = fields.String(metadata={"format": "password"})


class TokenParameters(OAuth2FormParameters):
    """Documents revocation (RFC 7009) and introspection (RFC 7662) requests."""

    token = fields.String(required=True)
    token_type_hint = fields.String(validate=validate.OneOf(["access_token", "refresh_token"]))
    client_id = fields.String()
    client_secret = fields.String(metadata={"format": "password"})
