"""Database migrations (Alembic through Flask-Migrate)."""

import flask_migrate
from invoke import Context, task

from .application import app_context

MIGRATIONS = "migrations"


@task(help={"revision": "target revision (default head)"})
def upgrade(c: Context, revision: str = "head") -> None:
    """Migrate the database up to `revision`, then seed the built-in clients and `general`."""
    from app import modules

    with app_context():
        flask_migrate.upgrade(directory=MIGRATIONS, revision=revision)
        if revision == "head":
            modules.seed()


@task(help={"revision": "target revision (default: one step back)"})
def downgrade(c: Context, revision: str = "-1") -> None:
    """Migrate the database down to `revision`."""
    with app_context():
        flask_migrate.downgrade(directory=MIGRATIONS, revision=revision)


@task(help={"message": "what the revision does, e.g. 'add messages table'"})
def revision(c: Context, message: str) -> None:
    """Autogenerate a revision from the difference between the models and the database."""
    with app_context():
        flask_migrate.migrate(directory=MIGRATIONS, message=message)


@task
def current(c: Context) -> None:
    """Show the database's current revision."""
    with app_context():
        flask_migrate.current(directory=MIGRATIONS, verbose=True)


@task
def history(c: Context) -> None:
    """List the revisions."""
    with app_context():
        flask_migrate.history(directory=MIGRATIONS, verbose=True)


@task(help={"revision": "revision to record without running migrations"})
def stamp(c: Context, revision: str = "head") -> None:
    """Record `revision` as applied, without running it."""
    with app_context():
        flask_migrate.stamp(directory=MIGRATIONS, revision=revision)


DEMO_PASSWORD = "parley-demo"  # noqa: S105  (development data only)


# Named apart from the docs' examples: the README has a newcomer sign up as `alice`.
DEMO_USERS = (
    ("demo-ada", "Ada (demo)", False),
    ("demo-grace", "Grace (demo)", False),
    ("demo-admin", "Admin (demo)", True),
)


@task(name="init-development-data")
def init_development_data(c: Context) -> None:
    """Create demo users (demo-ada, demo-grace, demo-admin; password `parley-demo`): development only."""
    from app.modules.users import services

    with app_context() as app:
        if app.config.get("ENV_NAME") != "development":
            raise SystemExit("error: development data only goes into a development database")
        for username, display_name, admin in DEMO_USERS:
            if services.get_by_username(username) is None:
                services.create_user(username, DEMO_PASSWORD, display_name=display_name, is_admin=admin)
                print(f"created {username}")
