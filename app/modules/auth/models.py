"""OAuth2 clients, tokens and authorization codes: secrets are stored only as keyed hashes."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.util import list_to_scope, scope_to_list
from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Integer,
    Row,
    Select,
    String,
    Text,
    and_,
    bindparam,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions.columns import UTCDateTime
from app.extensions.database import Base, db, utcnow
from app.extensions.security import secrets_match
from app.extensions.urls import public_url
from app.modules.users.models import Caller, User

PUBLIC_AUTH_METHODS = ("none",)
CONFIDENTIAL_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class OAuth2Client(Base, ClientMixin):
    __tablename__ = "oauth2_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(48), unique=True)
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    # Null for the built-in clients, which belong to the deployment.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    scope: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User | None] = relationship()

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The requested scopes this client may have; all of its scopes when none are asked for."""
        allowed = scope_to_list(self.scope)
        if not scope:
            return list_to_scope(allowed)
        return list_to_scope([s for s in scope_to_list(scope) if s in allowed])

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact match; an entry that is a bare path (the built-in `web` client's `/`) means this server,
        at its public URL: never at whatever host the request named."""
        same_origin = [public_url() + uri for uri in self.redirect_uris if uri.startswith("/")]
        return redirect_uri in self.redirect_uris or redirect_uri in same_origin

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets_match(client_secret, self.client_secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        allowed = CONFIDENTIAL_AUTH_METHODS if self.confidential else PUBLIC_AUTH_METHODS
        return method in allowed

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class UserBound:
    """A credential issued to a user under their `session_epoch` (or to no user)."""

    user: User | None
    user_epoch: int

    def outlived_by_user(self) -> bool:
        """The user is gone, or changed the password after this was issued."""
        return self.user is not None and (self.user.is_deleted or self.user_epoch != self.user.session_epoch)


class OAuth2Token(Base, TokenMixin, UserBound):
    __tablename__ = "oauth2_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(48), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Every token issued by refreshing the same original grant shares a family:
    # replaying a rotated refresh token revokes the whole family.
    family_id: Mapped[str] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[int] = mapped_column(Integer, default=lambda: int(time.time()))
    expires_in: Mapped[int] = mapped_column(Integer)
    refresh_token_expires_at: Mapped[int | None] = mapped_column(Integer)
    access_token_revoked_at: Mapped[int] = mapped_column(Integer, default=0)
    refresh_token_revoked_at: Mapped[int] = mapped_column(Integer, default=0)
    # The user's `session_epoch` when it was issued: a password change since ends it.
    user_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    user: Mapped[User | None] = relationship(lazy="joined")

    def check_client(self, client: OAuth2Client) -> bool:
        return self.client_id == client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def get_expires_at(self) -> int:
        return self.issued_at + self.expires_in

    def is_expired(self) -> bool:
        return self.get_expires_at() < time.time()

    def is_revoked(self) -> bool:
        return bool(self.access_token_revoked_at) or self.outlived_by_user()

    def is_refresh_usable(self) -> bool:
        return (
            not self.refresh_token_revoked_at
            and not self.outlived_by_user()
            and self.refresh_token_expires_at is not None
            and self.refresh_token_expires_at > time.time()
        )

    def get_client_id(self) -> str:
        return self.client_id

    def get_user(self) -> User | None:
        return self.user


class OAuth2AuthorizationCode(Base, AuthorizationCodeMixin, UserBound):
    __tablename__ = "oauth2_authorization_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(48))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(Text, default="")
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(16))
    expires_at: Mapped[int] = mapped_column(Integer)
    # Kept after redemption until it expires: a code presented twice is a replay (RFC 6749 §4.1.2),
    # and the tokens it bought (`family_id`) are revoked.
    used_at: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    family_id: Mapped[str | None] = mapped_column(String(64))
    # A code given with the old password, even while it was being changed, buys nothing after.
    user_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    user: Mapped[User] = relationship()

    def is_expired(self) -> bool:
        return self.expires_at < time.time()

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


def grants_access(now: float | ColumnElement[float]) -> ColumnElement[bool]:
    """`access_token_alive`'s rule as SQL, over oauth2_tokens outer-joined to users.

    The event streams' keep-alive checks every open stream's token at once: with 10,000 streams
    a worker loading each token and its user as objects blocked its loop for a fifth of a second
    per 5,000, delaying every delivery behind it. Kept beside `is_expired`, `is_revoked` and
    `outlived_by_user`, whose rule it states again.
    """
    return and_(
        OAuth2Token.issued_at + OAuth2Token.expires_in >= now,
        OAuth2Token.access_token_revoked_at == 0,
        or_(
            OAuth2Token.user_id.is_(None),
            and_(User.deleted_at.is_(None), OAuth2Token.user_epoch == User.session_epoch),
        ),
    )


@dataclass(frozen=True)
class Bearer:
    """An access token as the statement that read it found it (`bearer_statement`): one that grants
    access, since that statement decides it (`grants_access`), so no token or user is loaded as
    an object. What Authlib's check asks of it beyond that is its scope; what routes read of its
    user is a `Caller` (None for a client's own token, when the client has no owner).
    """

    id: int
    scope: str
    user: Caller | None

    def is_expired(self) -> bool:
        return False

    def is_revoked(self) -> bool:
        return False

    def get_scope(self) -> str:
        return self.scope


@functools.cache
def bearer_statement() -> Select:
    """The access token of hash `:digest` with its user's `Caller` columns, if it grants access at
    `:now`: one indexed lookup, built once (every authenticated request runs it)."""
    return (
        select(OAuth2Token.id.label("token_id"), OAuth2Token.scope.label("token_scope"), *Caller.COLUMNS)
        .outerjoin(User, User.id == OAuth2Token.user_id)
        .where(
            OAuth2Token.access_token_hash == bindparam("digest"),
            grants_access(bindparam("now", type_=Float)),
        )
    )


def bearer_of(row: Row | Sequence[Any]) -> Bearer | None:
    """The bearer a row of `bearer_statement` (its columns first) describes; None for a row of NULLs."""
    if row[0] is None:
        return None
    user = None if row[2] is None else Caller(*row[2 : 2 + len(Caller.COLUMNS)])
    return Bearer(row[0], row[1], user)


def access_token_alive(token_id: int) -> bool:
    """Whether an access token still grants access: not expired, revoked, or its user deleted.

    Read afresh: a long-lived event stream asks this while it runs.
    """
    token = db.session.get(OAuth2Token, token_id, populate_existing=True)
    return token is not None and not token.is_expired() and not token.is_revoked()
