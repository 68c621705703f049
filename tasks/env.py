"""The application's environment."""

import code

from invoke import Context, task

from .application import app_context


@task
def enter(c: Context) -> None:
    """Open a Python shell with the app, `db` and every model loaded, inside an app context."""
    from app.extensions import db
    from app.extensions.database import Base

    with app_context() as app:
        namespace = {"app": app, "db": db}
        namespace.update({mapper.class_.__name__: mapper.class_ for mapper in Base.registry.mappers})
        code.interact(banner=f"Parley shell: {', '.join(sorted(namespace))}", local=namespace)
