"""The OAuth2 endpoints under /auth/oauth2, answering with RFC 6749 error bodies."""

from __future__ import annotations

import json

from flask import Blueprint as FlaskBlueprint
from flask import Response, current_app, request, url_for
from flask.typing import ResponseReturnValue

from app.extensions.api import Blueprint, unstorable_fields
from app.extensions.ratelimit import log_in_limit
from app.extensions.urls import public_url

from .parameters import TokenParameters, TokenRequestParameters
from .schemas import OAuth2ErrorSchema, TokenSchema
from .server import GRANT_TYPES, authorization_server

blp = Blueprint(
    "oauth2",
    __name__,
    url_prefix="/auth/oauth2",
    description="OAuth2 authorization server: RFC 6749 grants, PKCE (RFC 7636), revocation (RFC 7009), "
    "introspection (RFC 7662). Form-encoded in, JSON out.",
)

# Never accepted in a URL: query strings end up in logs, histories and Referer headers.
SECRET_PARAMETERS = frozenset(
    {"password", "client_secret", "code", "refresh_token", "code_verifier", "token", "access_token"}
)


def oauth2_error(status: int, error: str, description: str) -> Response:
    return Response(
        json.dumps({"error": error, "error_description": description}),
        status=status,
        mimetype="application/json",
        headers={"Cache-Control": "no-store"},
    )


@blp.before_request
def refuse_secrets_in_query() -> Response | None:
    leaked = sorted(SECRET_PARAMETERS & set(request.args))
    if leaked:
        return oauth2_error(
            400, "invalid_request", f"Send {', '.join(leaked)} in the request body, not the URL."
        )
    return None


@blp.before_request
def refuse_unstorable_text() -> Response | None:
    """No client id, username or token holds NUL, and PostgreSQL cannot even compare one."""
    if unstorable_fields(request):
        return oauth2_error(400, "invalid_request", "Parameters may not hold NUL characters.")
    return None


def _form_body(schema: type, example: dict[str, str]) -> dict:
    """Documented as form-encoded only: `multipart/form-data` works too (`curl -F`), but one schema
    under two media types makes generated clients fail to import."""
    return {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": schema, "example": example}},
    }


def _oauth2_errors(*statuses: int) -> dict:
    return {
        str(status): {
            "description": "OAuth2 error (RFC 6749 §5.2)",
            "content": {"application/json": {"schema": OAuth2ErrorSchema}},
        }
        for status in statuses
    }


@blp.route("/token", methods=["POST"])
@log_in_limit
@blp.doc(
    operationId="issueToken",
    requestBody=_form_body(
        TokenRequestParameters,
        {
            "grant_type": "password",
            "username": "alice",
            "password": "correct horse battery",
            "client_id": "documentation",
            "scope": "users:read rooms:read messages:read messages:write",
        },
    ),
    responses={**_oauth2_errors(400, 401), "429": "TOO_MANY_REQUESTS"},
    security=[{}],
)
@blp.response(200, TokenSchema)
def token() -> ResponseReturnValue:
    """Issue a token (password, client_credentials, refresh_token, authorization_code + PKCE)

    Client authentication: HTTP Basic or form `client_id`/`client_secret`; public
    clients send `client_id` alone. A used refresh token is dead; presenting it
    again revokes every token of its chain. The body may also be `multipart/form-data`.
    Unknown parameters are ignored, as RFC 6749 (§3.1, §3.2) requires.
    """
    return authorization_server().create_token_response()


@blp.route("/revoke", methods=["POST"])
@blp.doc(
    operationId="revokeToken",
    requestBody=_form_body(
        TokenParameters, {"token": "…", "token_type_hint": "refresh_token", "client_id": "web"}
    ),
    responses=_oauth2_errors(400, 401),
    security=[{}],
)
@blp.response(200, description="Revoked, or unknown (RFC 7009 answers 200 either way)")
def revoke() -> ResponseReturnValue:
    """Revoke a token (RFC 7009); a refresh token takes its whole chain with it

    Public clients send `client_id` alone, confidential ones authenticate. Form-encoded or
    multipart; unknown parameters are ignored, as RFC 6749 requires.
    """
    return authorization_server().create_endpoint_response("revocation")


@blp.route("/introspect", methods=["POST"])
@blp.doc(
    operationId="introspectToken",
    requestBody=_form_body(TokenParameters, {"token": "…", "client_id": "my-bot", "client_secret": "…"}),
    responses=_oauth2_errors(400, 401),
    security=[{}],
)
@blp.response(200, description="RFC 7662 introspection response (`active` and, when active, claims)")
def introspect() -> ResponseReturnValue:
    """Introspect a token (RFC 7662); confidential clients only

    For resource servers of your own: whether a token is active, and its scope and user.
    Form-encoded or multipart; unknown parameters are ignored, as RFC 6749 requires.
    """
    return authorization_server().create_endpoint_response("introspection")


def refuse_other_methods() -> Response:
    """A GET (a browser, a mistaken client) learns how to call the endpoint, in RFC 6749's shape."""
    response = oauth2_error(
        405,
        "invalid_request",
        "This endpoint takes POST only: POST a form body (application/x-www-form-urlencoded).",
    )
    response.headers["Allow"] = "POST"
    return response


# Through Flask's own add_url_rule: an answer to a mistake, not an operation to document.
for _endpoint in ("token", "revoke", "introspect"):
    FlaskBlueprint.add_url_rule(
        blp,
        f"/{_endpoint}",
        f"{_endpoint}_refused",
        refuse_other_methods,
        methods=["GET", "PUT", "PATCH", "DELETE"],
    )


@blp.after_request
def allow_post_only(response: Response) -> Response:
    """Flask's automatic OPTIONS answer would also list the refused methods, which share the URL."""
    if request.method == "OPTIONS":
        response.headers["Allow"] = "OPTIONS, POST"
    return response


@blp.after_request
def challenge_basic_clients_only(response: Response) -> Response:
    """RFC 6749 §5.2 wants the `Basic` challenge only for clients that sent the Authorization
    header. Sent to a form post from a browser page, it opens the browser's own login dialog
    instead of showing the answer: Swagger UI's "Try it out" then never ends."""
    if "Authorization" not in request.headers:
        response.headers.pop("WWW-Authenticate", None)
    return response


def metadata() -> dict:
    """RFC 8414 authorization server metadata."""
    base = public_url()
    endpoint_auth = ["client_secret_basic", "client_secret_post", "none"]
    return {
        "issuer": base,
        "authorization_endpoint": base + url_for("auth_pages.authorize"),
        "token_endpoint": base + url_for("oauth2.token"),
        "revocation_endpoint": base + url_for("oauth2.revoke"),
        "introspection_endpoint": base + url_for("oauth2.introspect"),
        "scopes_supported": list(current_app.config["OAUTH2_SCOPES"]),
        "response_types_supported": ["code"],
        "grant_types_supported": GRANT_TYPES,
        "token_endpoint_auth_methods_supported": endpoint_auth,
        "revocation_endpoint_auth_methods_supported": endpoint_auth,
        "introspection_endpoint_auth_methods_supported": endpoint_auth[:2],
        "code_challenge_methods_supported": ["S256"],
        "service_documentation": base + "/api/v1/docs",
    }
