"""Who may hold tokens, see clients and inspect tokens: the rules the auth endpoints apply."""

from __future__ import annotations

from app.modules.users.models import User

from .models import OAuth2Client, OAuth2Token


def may_sign_in(user: User | None) -> bool:
    """A deleted account gets no token, whatever grant asks (its refresh tokens die with it)."""
    return user is not None and not user.is_deleted


def owns(client: OAuth2Client, user: User) -> bool:
    """A client is visible to the user who registered it only: to anyone else it does not exist."""
    return client.owner_id == user.id


def may_introspect(client: OAuth2Client, token: OAuth2Token) -> bool:
    """A client may inspect its own tokens; a client owned by an administrator, any token."""
    return token.client_id == client.client_id or bool(client.owner and client.owner.is_admin)
