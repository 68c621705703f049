"""OAuth2 clients: the built-in ones, and those users register for their own programs."""

from __future__ import annotations

import re
import time
import unicodedata
from typing import Any

from flask import current_app
from sqlalchemy import and_, delete, or_, select, update

from app.extensions.api import abort
from app.extensions.database import db, rows_changed
from app.extensions.security import generate_secret, hash_secret
from app.modules.users.models import User
from app.modules.users.signals import password_changed, user_deleted

from . import permissions
from .models import OAuth2AuthorizationCode, OAuth2Client, OAuth2Token
from .server import revoke_user_tokens

BUILTIN_CLIENTS: dict[str, dict[str, Any]] = {
    "documentation": {
        "name": "Swagger UI",
        "grant_types": ["password", "refresh_token"],
        "redirect_uris": [],
    },
    "web": {
        "name": "Parley web client",
        "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": ["/"],
    },
}


def all_scopes() -> str:
    return " ".join(current_app.config["OAUTH2_SCOPES"])


def ensure_builtin_clients() -> None:
    """Create the public `documentation` and `web` clients if they are missing."""
    for client_id, spec in BUILTIN_CLIENTS.items():
        if db.session.scalar(select(OAuth2Client).where(OAuth2Client.client_id == client_id)) is None:
            db.session.add(OAuth2Client(client_id=client_id, confidential=False, scope=all_scopes(), **spec))
    db.session.commit()


def list_clients(owner: User) -> list[OAuth2Client]:
    return list(
        db.session.scalars(
            select(OAuth2Client).where(OAuth2Client.owner_id == owner.id).order_by(OAuth2Client.id)
        )
    )


def _words(name: str) -> list[str]:
    return re.findall(r"\w+", unicodedata.normalize("NFKC", name).casefold())


def _passes_for_builtin(name: str) -> bool:
    """Whether the consent page could show this name as part of Parley itself."""
    words = _words(name)
    builtin = [_words(spec["name"]) for spec in BUILTIN_CLIENTS.values()]
    return bool(words) and (words[0].startswith("parley") or words in builtin)


def _invalid(field: str, message: str) -> None:
    abort(422, message, errors={"json": {field: [message]}})


def create_client(
    owner: User,
    *,
    name: str,
    granted: str | None = None,
    confidential: bool = True,
    redirect_uris: list[str] | None = None,
    scope: str | None = None,
) -> tuple[OAuth2Client, str | None]:
    """Register a third-party client for `owner`; returns it with its secret, shown only this once.

    `granted` is the scope of the token registering it: a client never holds more than the
    token that made it, or a narrow token could mint itself a wider one (None: an operator
    registers it, with every scope at hand). It gets no password grant: a third-party
    program must never see the user's password.
    """
    if _passes_for_builtin(name):
        _invalid("name", "This name could pass for Parley's own client; choose another.")
    granted = granted or all_scopes()
    scope = scope or granted
    beyond = set(scope.split()) - set(granted.split())
    if beyond:
        _invalid("scope", f"Beyond the scope of your token: {' '.join(sorted(beyond))}.")
    grant_types = ["authorization_code", "refresh_token"]
    if confidential:
        grant_types.append("client_credentials")
    secret = generate_secret() if confidential else None
    client = OAuth2Client(
        client_id=generate_secret(18),
        client_secret_hash=hash_secret(secret) if secret else None,
        name=name,
        owner_id=owner.id,
        confidential=confidential,
        redirect_uris=redirect_uris or [],
        grant_types=grant_types,
        scope=scope,
    )
    db.session.add(client)
    db.session.commit()
    return client, secret


def get_own_client_or_404(client_id: str, caller: User) -> OAuth2Client:
    """The caller's client with this id; anyone else's is a 404, as if it did not exist."""
    client = db.session.scalar(select(OAuth2Client).where(OAuth2Client.client_id == client_id))
    if client is None or not permissions.owns(client, caller):
        abort(404, "No such client.")
    return client


def delete_client(client: OAuth2Client) -> None:
    """Remove the client; the tokens it was issued stop working with it."""
    db.session.execute(delete(OAuth2Token).where(OAuth2Token.client_id == client.client_id))
    db.session.execute(
        delete(OAuth2AuthorizationCode).where(OAuth2AuthorizationCode.client_id == client.client_id)
    )
    db.session.delete(client)
    db.session.commit()


def purge_dead_credentials() -> int:
    """Delete expired authorization codes, and tokens that can no longer be used in any way.

    A retired refresh token is kept until it would have expired: presenting it
    again must still be recognised as a replay and revoke its chain.
    """
    now = int(time.time())
    codes = rows_changed(delete(OAuth2AuthorizationCode).where(OAuth2AuthorizationCode.expires_at < now))
    access_dead = or_(
        OAuth2Token.access_token_revoked_at > 0, OAuth2Token.issued_at + OAuth2Token.expires_in < now
    )
    refresh_dead = or_(OAuth2Token.refresh_token_hash.is_(None), OAuth2Token.refresh_token_expires_at < now)
    tokens = rows_changed(delete(OAuth2Token).where(and_(access_dead, refresh_dead)))
    db.session.commit()
    return codes + tokens


@user_deleted.connect
def _forget_deleted_user(user: User) -> None:
    """A deleted account keeps no working token and no client."""
    revoke_user_tokens(user.id)
    for client in list_clients(user):
        db.session.delete(client)


@password_changed.connect
def _end_other_sessions(user: User, keep_token_id: int | None) -> None:
    """Whoever knew the old password keeps no session; the one that changed it goes on.

    The user's new `session_epoch` also ends any token a concurrent request is issuing from a
    session that these updates cannot see yet; the kept token moves to it.
    """
    revoke_user_tokens(user.id, keep_token_id=keep_token_id)
    if keep_token_id is not None:
        db.session.execute(
            update(OAuth2Token).where(OAuth2Token.id == keep_token_id).values(user_epoch=user.session_epoch)
        )
