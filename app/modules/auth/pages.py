"""Server-rendered pages of the authorization-code flow: login + consent, and sign-up."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, TooManyRequests

from app.extensions.api import unstorable_fields
from app.extensions.ratelimit import log_in_limit, sign_up_limit
from app.modules.users import services as users
from app.modules.users.parameters import SignUpParameters

from .oauth2 import metadata
from .server import authorization_server

blp = Blueprint("auth_pages", __name__, template_folder="templates")

OAUTH2_FIELDS = (
    "client_id",
    "response_type",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
)


@blp.after_request
def forbid_framing(response: Response) -> Response:
    """The password form must never be shown inside another site's frame."""
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    response.headers["Cache-Control"] = "no-store"
    return response


def _invalid_request_page() -> ResponseReturnValue:
    error = InvalidRequestError("A parameter of the sign-in request holds characters it may not.")
    return render_template("auth/error.html", error=error), error.status_code


@blp.before_request
def refuse_unstorable_text() -> ResponseReturnValue | None:
    """NUL names no client or user, and PostgreSQL cannot even compare one."""
    return _invalid_request_page() if unstorable_fields(request) else None


@blp.get("/.well-known/oauth-authorization-server")
def well_known() -> ResponseReturnValue:
    return jsonify(metadata())


def _render(grant: Any, *, error: str | None = None, status: int = 200) -> tuple[str, int]:
    scopes = current_app.config["OAUTH2_SCOPES"]
    requested = grant.client.get_allowed_scope(grant.request.payload.scope).split()
    hidden = {name: request.values[name] for name in OAUTH2_FIELDS if request.values.get(name)}
    return render_template(
        "auth/authorize.html",
        client=grant.client,
        redirect_host=urlsplit(grant.redirect_uri or "").netloc or request.host,
        scopes=[(s, scopes[s]) for s in requested],
        hidden=hidden,
        error=error,
        username=request.form.get("username", ""),
        signup_url=url_for(
            ".signup", next=request.full_path if request.method == "GET" else _authorize_path(hidden)
        ),
    ), status


def _authorize_path(hidden: dict[str, str]) -> str:
    return url_for(".authorize") + "?" + urlencode(hidden)


@blp.route("/auth/oauth2/authorize", methods=["GET", "POST"])
@log_in_limit
def authorize() -> ResponseReturnValue:
    server = authorization_server()
    try:
        grant = server.get_consent_grant(end_user=None)
    except OAuth2Error as error:
        if error.redirect_uri:
            return server.handle_error_response(None, error)
        return render_template("auth/error.html", error=error), error.status_code
    except ValueError:
        # Authlib quotes the offending parameter in its error description, and refuses to
        # build one holding `"` or `\`: such a request is simply malformed.
        return _invalid_request_page()
    if request.method == "GET":
        return _render(grant)
    if request.form.get("decision") != "allow":
        return server.create_authorization_response(grant_user=None, grant=grant)
    try:
        user = users.authenticate(request.form.get("username", ""), request.form.get("password", ""))
    except TooManyRequests as locked:
        message = "Too many wrong passwords for this account: try again later."
        return *_render(grant, error=message, status=429), {"Retry-After": str(locked.retry_after)}
    if user is None:
        return _render(grant, error="Wrong username or password.", status=400)
    return server.create_authorization_response(grant_user=user, grant=grant)


def _safe_next(target: str | None) -> str:
    """Only ever send the browser back to our own authorize page."""
    parts = urlsplit(target or "")
    if not parts.scheme and not parts.netloc and parts.path == url_for(".authorize"):
        return target  # type: ignore[return-value]
    return "/"


@blp.route("/auth/signup", methods=["GET", "POST"])
@sign_up_limit
def signup() -> ResponseReturnValue:
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("auth/signup.html", next=next_url, errors={}, form={})
    form = {k: v for k, v in request.form.items() if k in SignUpParameters().fields and v != ""}
    try:
        users.create_user(**SignUpParameters().load(form))
    except ValidationError as error:
        return render_template("auth/signup.html", next=next_url, errors=error.messages, form=form), 422
    except HTTPException as error:  # 409: the username is taken
        messages = getattr(error, "data", {}).get("errors", {}).get("json", {})
        return render_template(
            "auth/signup.html", next=next_url, errors=messages, form=form
        ), error.code or 409
    return redirect(next_url, code=303)
