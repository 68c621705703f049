"""User accounts."""

from invoke import Context, task

from .application import app_context, password_from


@task(
    help={
        "username": "the new user's name (3 to 32 of A-Z a-z 0-9 _ . -)",
        "admin": "make the user an administrator",
        "password": "password, 8 to 128 characters (else asked for on a terminal, or read from stdin)",
    }
)
def create(c: Context, username: str, password: str = "", admin: bool = False) -> None:
    """Create a user, with sign-up's rules (they join `general` like any new user)."""
    from app.modules.users import services
    from app.modules.users.parameters import SignUpParameters

    password = password_from(password)
    with app_context():
        account = SignUpParameters().load({"username": username, "password": password})
        user = services.create_user(account["username"], account["password"], is_admin=admin)
        print(f"created user {user.id} {user.username}{' (admin)' if admin else ''}")
