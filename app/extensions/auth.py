"""Bearer-token protection of API resources, answering in the API's error shape.

The token validator comes from the `auth` module (`protector.register_token_validator`),
so this extension knows nothing of the models behind it.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_oauth2 import ResourceProtector, current_token
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import MissingAuthorizationError
from werkzeug.local import LocalProxy

from .api.errors import abort

_MESSAGES = {
    "missing_authorization": "A bearer token is required.",
    "invalid_token": "The access token is invalid, expired or revoked.",
    "insufficient_scope": "The access token lacks the scope this operation needs.",
}


class Protector(ResourceProtector):
    def raise_error_response(self, error: OAuth2Error) -> None:
        """Keep Authlib's status and `WWW-Authenticate`, in the API's JSON error shape."""
        headers = dict(error.get_headers())
        headers.pop("Content-Type", None)
        if isinstance(error, MissingAuthorizationError):
            headers["WWW-Authenticate"] = 'Bearer realm="parley"'
        elif "WWW-Authenticate" not in headers:
            headers["WWW-Authenticate"] = f'Bearer error="{error.error}"'
        message = _MESSAGES.get(error.error, error.get_error_description() or error.error)
        abort(error.status_code, message, headers=headers)

    def require(self, scopes: list[str]) -> Any:
        try:
            return self.acquire_token(scopes)
        except OAuth2Error as error:
            self.raise_error_response(error)


protector = Protector()


def _current_user() -> Any:
    token = current_token._get_current_object()
    return token.user if token is not None else None


current_user: Any = LocalProxy(_current_user)

__all__ = ["current_token", "current_user", "protector"]
