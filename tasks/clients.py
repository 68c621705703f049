"""OAuth2 clients."""

from invoke import Context, task

from .application import app_context


@task(
    help={
        "owner": "username of the client's owner",
        "name": "a name for the client",
        "scope": "space-separated scopes (default: all)",
    }
)
def create(c: Context, owner: str, name: str, scope: str = "") -> None:
    """Create a confidential client and print its secret, the only time it is shown."""
    from app.modules.auth import services
    from app.modules.users.services import get_by_username

    with app_context():
        user = get_by_username(owner)
        if user is None:
            raise SystemExit(f"error: no user {owner!r}")
        client, secret = services.create_client(user, name=name, scope=scope or None)
        print(f"client_id:     {client.client_id}\nclient_secret: {secret}")
