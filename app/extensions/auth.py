"""Bearer-token protection of API resources, answering in the API's error shape.

The token validator comes from the `auth` module (`protector.register_token_validator`),
so this extension knows nothing of the models behind it.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_oauth2 import ResourceProtector, current_token
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import MissingAuthorizationError, UnsupportedTokenTypeError
from authlib.oauth2.rfc6749.requests import JsonRequest
from authlib.oauth2.rfc6750 import InvalidTokenError
from flask import g, request
from flask.globals import _cv_app
from werkzeug.local import LocalProxy

from .errors import abort

REALM = "parley"
_BEARER = "Bearer "
_G_TOKEN = "authlib_server_oauth2_token"  # noqa: S105  (the name in `g` of the request's token)
_MESSAGES = {
    "missing_authorization": "A bearer token is required.",
    "unsupported_token_type": "A bearer token is required.",
    "invalid_token": "The access token is invalid, expired or revoked.",
    "insufficient_scope": "The access token lacks the scope this operation needs.",
}


class Protector(ResourceProtector):
    def parse_request_authorization(self, request: Any) -> Any:
        """`Bearer` with no token is a bad token (invalid_token), not an unknown scheme."""
        scheme, _, credentials = (request.headers.get("Authorization") or "").strip().partition(" ")
        if scheme.lower() == "bearer" and not credentials.strip():
            raise InvalidTokenError(realm=REALM)
        return super().parse_request_authorization(request)

    def raise_error_response(self, error: OAuth2Error) -> None:
        """Keep Authlib's status, in the API's JSON error shape, with an RFC 6750 challenge.

        No credentials, or another scheme than Bearer (Basic, say), get the bare challenge
        (RFC 6750 §3.1: no error code); everything else names its error.
        """
        headers = {k: v for k, v in error.get_headers() if k not in ("Content-Type", "WWW-Authenticate")}
        challenge = f'Bearer realm="{REALM}"'
        if not isinstance(error, MissingAuthorizationError | UnsupportedTokenTypeError):
            challenge += f', error="{error.error}"'
        headers["WWW-Authenticate"] = challenge
        message = _MESSAGES.get(error.error, error.get_error_description() or error.error)
        abort(error.status_code, message, headers=headers)

    def acquire_token(self, scopes: list[str] | None = None, **kwargs: Any) -> Any:
        """Authlib's check, minus its request wrapper: a bearer check reads one header, and building
        the wrapper (the full URL, a JSON body) cost more than the rest of the check."""
        validator, credentials = self.bearer_credentials()
        token = validator.authenticate_token(credentials)
        validator.validate_token(token, scopes, None)  # Bearer validation never reads the request
        setattr(g, _G_TOKEN, token)  # where Authlib's `current_token` reads it
        return token

    def bearer_credentials(self) -> tuple[Any, str]:
        """The request's bearer token and the validator for it, as Authlib's parsing finds them.

        A header that reads `Bearer <token>` (every authenticated request, nearly) is taken as it
        is; any other (none, another scheme, odd spacing) takes Authlib's way, whose OAuth2Error
        names what is wrong.
        """
        authorization = request.environ.get("HTTP_AUTHORIZATION") or ""
        credentials = authorization[len(_BEARER) :]
        if authorization.startswith(_BEARER) and credentials and not credentials[0].isspace():
            return self._token_validators["bearer"], credentials
        return self.parse_request_authorization(bearer_request())

    def require(self, scopes: list[str]) -> Any:
        try:
            return self.acquire_token(scopes)
        except OAuth2Error as error:
            self.raise_error_response(error)


protector = Protector()


def bearer_request() -> JsonRequest:
    """What Authlib's bearer check reads of the request: its method, path and Authorization header."""
    authorization = request.environ.get("HTTP_AUTHORIZATION")
    headers = {"Authorization": authorization} if authorization is not None else None
    return JsonRequest(request.method, request.path, headers)


def _current_user() -> Any:
    """The token's user, read from the app context itself: routes, schemas and decorators read
    `current_user` several times a request, and each read through `g`'s proxy cost seven calls."""
    context = _cv_app.get(None)
    token = None if context is None else context.g.__dict__.get(_G_TOKEN)
    return token.user if token is not None else None


current_user: Any = LocalProxy(_current_user)

__all__ = ["current_token", "current_user", "protector"]
