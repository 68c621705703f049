"""The Authlib authorization server: grants, client authentication, token storage.

Every token, code and secret is hashed (`hash_secret`) before it touches the
database; the plaintext exists only in the response to the client.
"""

from __future__ import annotations

import time
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6749.util import extract_basic_authorization, scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask, current_app
from sqlalchemy import Select, delete, select, update

from app.extensions.auth import protector
from app.extensions.database import db, read_connection, rows_changed
from app.extensions.prepared import Prepared
from app.extensions.security import generate_secret, hash_secret
from app.modules.users import services as users

from . import permissions
from .models import (
    CONFIDENTIAL_AUTH_METHODS,
    PUBLIC_AUTH_METHODS,
    Bearer,
    OAuth2AuthorizationCode,
    OAuth2Client,
    OAuth2Token,
    bearer_of,
    bearer_statement,
)

ALL_AUTH_METHODS = [*CONFIDENTIAL_AUTH_METHODS, *PUBLIC_AUTH_METHODS]
GRANT_TYPES = ["password", "client_credentials", "refresh_token", "authorization_code"]


def query_client(client_id: str) -> OAuth2Client | None:
    return db.session.scalar(select(OAuth2Client).where(OAuth2Client.client_id == client_id))


def find_token(token_string: str, hint: str | None = None) -> OAuth2Token | None:
    """The token whose access or refresh token is `token_string`; `matched` says which."""
    digest = hash_secret(token_string)
    columns = {"access_token": OAuth2Token.access_token_hash, "refresh_token": OAuth2Token.refresh_token_hash}
    for kind in ([hint] if hint in columns else []) + [k for k in columns if k != hint]:
        token = db.session.scalar(select(OAuth2Token).where(columns[kind] == digest))
        if token is not None:
            token.matched = kind
            return token
    return None


def _revoke_where(condition: Any) -> None:
    """Revoke the matching tokens, locking them in id order first.

    Racing replays of one refresh token each revoke its family at once; on PostgreSQL, an
    UPDATE that locks rows in scan order let two of them take the rows in different orders
    and deadlock. Every revocation, and every redemption, takes the oldest row first.
    """
    now = int(time.time())
    db.session.execute(
        update(OAuth2Token)
        .where(OAuth2Token.id.in_(_locked_in_order(condition).scalar_subquery()))
        .values(access_token_revoked_at=now, refresh_token_revoked_at=now)
    )


def _locked_in_order(condition: Any) -> Select[int]:
    """The ids of matching tokens, locked oldest first (PostgreSQL; SQLite has one writer)."""
    return select(OAuth2Token.id).where(condition).order_by(OAuth2Token.id).with_for_update()


def revoke_family(family_id: str) -> None:
    """Revoke every token descended from one grant."""
    _revoke_where(OAuth2Token.family_id == family_id)


def revoke_user_tokens(user_id: int, *, keep_token_id: int | None = None) -> None:
    """Revoke every token of the user, but for `keep_token_id`; they act as the user.

    That includes client_credentials tokens of the user's clients, and their pending codes.
    """
    condition = OAuth2Token.user_id == user_id
    if keep_token_id is not None:
        condition &= OAuth2Token.id != keep_token_id
    _revoke_where(condition)
    db.session.execute(delete(OAuth2AuthorizationCode).where(OAuth2AuthorizationCode.user_id == user_id))


def save_token(token: dict[str, Any], request: Any) -> None:
    """Store the hashes of a new token, in the transaction that used up its refresh token or code."""
    now = int(time.time())
    previous: OAuth2Token | None = request.refresh_token
    refresh = token.get("refresh_token")
    user = request.user or request.client.owner  # client_credentials act as the client's owner
    family_id = previous.family_id if previous else generate_secret(16)
    if request.authorization_code is not None:
        request.authorization_code.family_id = family_id
    db.session.add(
        OAuth2Token(
            client_id=request.client.client_id,
            user_id=user.id if user else None,
            access_token_hash=hash_secret(token["access_token"]),
            refresh_token_hash=hash_secret(refresh) if refresh else None,
            family_id=family_id,
            user_epoch=user.session_epoch if user else 0,
            scope=token.get("scope", ""),
            issued_at=now,
            expires_in=token["expires_in"],
            refresh_token_expires_at=now + current_app.config["REFRESH_TOKEN_EXPIRES_IN"]
            if refresh
            else None,
        )
    )
    db.session.commit()


def _used_up(statement: Any) -> bool:
    """Whether this conditional update (`… WHERE <still unused>`) changed the row: then this
    request, and no concurrent one, used it.

    On PostgreSQL a concurrent update of the same row waits for ours to commit and then finds
    the condition false; SQLite runs one writer at a time. No read-then-write race is left.
    """
    return rows_changed(statement) == 1


def authenticate_public_client(query: Any, request: Any) -> OAuth2Client | None:
    """The `none` method: a client id alone, in the body or as HTTP Basic with an empty secret.

    Swagger UI sends `Authorization: Basic base64("documentation:")`; that is
    accepted for public clients only, never in place of a confidential secret.
    """
    client_id = request.payload.client_id
    if request.payload.data.get("client_secret"):
        return None
    basic_id, basic_secret = extract_basic_authorization(request.headers)
    if basic_id:
        if basic_secret or (client_id and client_id != basic_id):
            return None
        client_id = basic_id
    client = query(client_id) if client_id else None
    return client if client is not None and not client.confidential else None


class ClientScopeMixin:
    """Refuse scopes the client was not registered for, rather than silently dropping them."""

    request: Any
    server: Any

    def validate_requested_scope(self) -> None:
        scope = self.request.payload.scope
        self.server.validate_requested_scope(scope)
        if scope and set(scope_to_list(scope)) - set(scope_to_list(self.request.client.scope)):
            raise InvalidScopeError("The client is not registered for some of these scopes.")


class PasswordGrant(ClientScopeMixin, grants.ResourceOwnerPasswordCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS

    def authenticate_user(self, username: str, password: str) -> Any:
        user = users.authenticate(username, password)
        if user is None:
            raise InvalidGrantError("Invalid username or password.")
        return user


class ClientCredentialsGrant(ClientScopeMixin, grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(CONFIDENTIAL_AUTH_METHODS)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> OAuth2Token | None:
        """The stored token, retired here: of concurrent redemptions exactly one gets through.

        A used refresh token coming back, later or at the same moment, means someone holds
        a copy: the whole chain ends. The chain's rows are locked, oldest first, before this
        one is retired, so racing redemptions queue rather than deadlock (`_revoke_where`).
        """
        token = db.session.scalar(
            select(OAuth2Token).where(OAuth2Token.refresh_token_hash == hash_secret(refresh_token))
        )
        if token is None or (not token.refresh_token_revoked_at and not token.is_refresh_usable()):
            return None
        db.session.execute(_locked_in_order(OAuth2Token.family_id == token.family_id))
        if token.refresh_token_revoked_at or not _used_up(
            update(OAuth2Token)
            .where(OAuth2Token.id == token.id, OAuth2Token.refresh_token_revoked_at == 0)
            .values(refresh_token_revoked_at=int(time.time()))
        ):
            revoke_family(token.family_id)
            db.session.commit()
            return None
        return token

    def authenticate_user(self, refresh_token: OAuth2Token) -> Any:
        user = refresh_token.user
        return user if permissions.may_sign_in(user) else None

    def revoke_old_credential(self, refresh_token: OAuth2Token) -> None:
        """Nothing left to do: `authenticate_refresh_token` retired it, committed with the new token."""


class AuthorizationCodeGrant(ClientScopeMixin, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        db.session.add(
            OAuth2AuthorizationCode(
                code_hash=hash_secret(code),
                client_id=request.client.client_id,
                user_id=request.user.id,
                user_epoch=request.user.session_epoch,
                redirect_uri=request.payload.redirect_uri or "",
                scope=request.client.get_allowed_scope(request.payload.scope),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                expires_at=int(time.time()) + current_app.config["AUTHORIZATION_CODE_EXPIRES_IN"],
            )
        )
        db.session.commit()

    def query_authorization_code(self, code: str, client: OAuth2Client) -> OAuth2AuthorizationCode | None:
        """The code, used up here: of concurrent redemptions exactly one gets through.

        Any other, now or later, is a replay: the tokens the code bought are revoked
        (RFC 6749 §4.1.2).
        """
        row = db.session.scalar(
            select(OAuth2AuthorizationCode).where(
                OAuth2AuthorizationCode.code_hash == hash_secret(code),
                OAuth2AuthorizationCode.client_id == client.client_id,
            )
        )
        if row is None or (not row.used_at and row.is_expired()):
            return None
        if row.used_at or not _used_up(
            update(OAuth2AuthorizationCode)
            .where(OAuth2AuthorizationCode.id == row.id, OAuth2AuthorizationCode.used_at == 0)
            .values(used_at=int(time.time()))
        ):
            bought = db.session.scalar(
                select(OAuth2AuthorizationCode.family_id).where(OAuth2AuthorizationCode.id == row.id)
            )
            if bought is not None:
                revoke_family(bought)
            db.session.commit()
            return None
        return row

    def delete_authorization_code(self, authorization_code: OAuth2AuthorizationCode) -> None:
        """Kept, used, until it expires, to recognise a replay; `purge_dead_credentials` deletes it."""

    def authenticate_user(self, authorization_code: OAuth2AuthorizationCode) -> Any:
        return None if authorization_code.outlived_by_user() else authorization_code.user


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256 only, checked when the code is requested, not just when it is redeemed.

    Authlib lets a public client skip the challenge at the authorization endpoint,
    and takes a challenge without a method as `plain`: both are refused here.
    """

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if data.get("code_challenge"):
            if data.get("code_challenge_method") != "S256":
                raise InvalidRequestError("code_challenge_method must be S256.")
        elif not grant.request.client.confidential:
            raise InvalidRequestError("Public clients must send a PKCE code_challenge (S256).")
        super().validate_code_challenge(grant, redirect_uri)


class HashedRevocationEndpoint(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ALL_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> OAuth2Token | None:
        return find_token(token_string, token_type_hint)

    def revoke_token(self, token: OAuth2Token, request: Any) -> None:
        """Revoking a refresh token ends its whole chain; an access token, just itself."""
        if token.matched == "refresh_token":
            revoke_family(token.family_id)
        else:
            token.access_token_revoked_at = int(time.time())
        db.session.commit()


class HashedIntrospectionEndpoint(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = list(CONFIDENTIAL_AUTH_METHODS)

    def query_token(self, token_string: str, token_type_hint: str | None) -> OAuth2Token | None:
        return find_token(token_string, token_type_hint)

    def check_permission(self, token: OAuth2Token, client: OAuth2Client, request: Any) -> bool:
        return permissions.may_introspect(client, token)

    def create_introspection_payload(self, token: OAuth2Token | None) -> dict[str, Any]:
        """A refresh token is judged by its own state and expiry, not by its access token's."""
        if token is None or token.matched != "refresh_token":
            return super().create_introspection_payload(token)
        if not token.is_refresh_usable():
            return {"active": False}
        return {**self.introspect_token(token), "exp": token.refresh_token_expires_at}

    def introspect_token(self, token: OAuth2Token) -> dict[str, Any]:
        return {
            "active": True,
            "client_id": token.client_id,
            "token_type": "Bearer",
            "username": token.user.username if token.user else None,
            "sub": str(token.user_id) if token.user_id else None,
            "scope": token.scope,
            "iat": token.issued_at,
            "exp": token.get_expires_at(),
        }


class HashedBearerTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> Bearer | None:
        """The token, if it still grants access, and its user, in one indexed Core statement built once
        (`bearer_statement`, run by the driver's cursor: `Prepared`): every request pays it, and
        loading both as ORM objects cost most of a light request. On `read_connection`: the route's
        own statements follow in the same transaction, and a route that has none makes no ORM session."""
        found = {"digest": hash_secret(token_string), "now": time.time()}
        rows = _BEARER.rows(read_connection(), found)
        return bearer_of(rows[0]) if rows else None


_BEARER = Prepared(bearer_statement())


def init_app(app: Flask) -> None:
    app.config.setdefault("OAUTH2_SCOPES_SUPPORTED", list(app.config["OAUTH2_SCOPES"]))
    app.config.setdefault(
        "OAUTH2_TOKEN_EXPIRES_IN", dict.fromkeys(GRANT_TYPES, app.config["ACCESS_TOKEN_EXPIRES_IN"])
    )
    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_client_auth_method("none", authenticate_public_client)
    server.register_grant(PasswordGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(RefreshTokenGrant)
    server.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
    server.register_endpoint(HashedRevocationEndpoint)
    server.register_endpoint(HashedIntrospectionEndpoint)
    app.extensions["parley.authorization"] = server
    protector.register_token_validator(HashedBearerTokenValidator(realm="parley"))


def authorization_server() -> AuthorizationServer:
    return current_app.extensions["parley.authorization"]
