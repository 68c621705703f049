"""OAuth2 clients."""

from invoke import Context, task
from invoke.exceptions import Exit

from .application import app_context


@task(
    help={
        "owner": "username of the client's owner",
        "name": "a name for the client",
        "scope": "space-separated scopes (default: all)",
    }
)
def create(c: Context, owner: str, name: str, scope: str = "") -> None:
    """Create a confidential client, with the API's rules, and print its secret, the only time it is shown."""
    from app.modules.auth import services
    from app.modules.auth.parameters import CreateClientParameters
    from app.modules.users.services import get_by_username

    with app_context():
        client = CreateClientParameters().load({"name": name, **({"scope": scope} if scope else {})})
        user = get_by_username(owner)
        if user is None:
            raise Exit(f"error: no user {owner!r}", 1)
        created, secret = services.create_client(user, name=client["name"], scope=client.get("scope"))
        print(f"client_id:     {created.client_id}\nclient_secret: {secret}")
