"""User accounts."""

from getpass import getpass

from invoke import Context, task

from .application import app_context


@task(
    help={
        "username": "the new user's name",
        "admin": "make the user an administrator",
        "password": "password (asked for when omitted)",
    }
)
def create(c: Context, username: str, password: str = "", admin: bool = False) -> None:
    """Create a user (they join `general` like any new user)."""
    from app.modules.users import services

    with app_context():
        user = services.create_user(username, password or getpass("Password: "), is_admin=admin)
        print(f"created user {user.id} {user.username}{' (admin)' if admin else ''}")
