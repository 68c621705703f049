"""Run Parley: the development server, or gunicorn."""

import os

from invoke import Context, task

from . import database, dependencies
from .python import module, script


@task(help={"host": "address to bind (default 127.0.0.1)", "port": "port (default 8000)"})
def run(c: Context, host: str = "", port: int = 0) -> None:
    """Install what is missing, migrate, seed demo data (development), start the development server."""
    dependencies.install(c)
    database.upgrade(c)
    if os.environ.get("PARLEY_CONFIG", "development") == "development":
        database.init_development_data(c)
    args = (*(("--host", host) if host else ()), *(("--port", str(port)) if port else ()))
    c.run(script("server.py", *args), pty=False)


@task(
    help={"workers": "gunicorn workers (default: WEB_CONCURRENCY, else gunicorn.conf.py's for the database)"}
)
def serve(c: Context, workers: int = 0) -> None:
    """Serve with gunicorn and gevent workers (production: SECRET_KEY, DATABASE_URL, PARLEY_PUBLIC_URL)."""
    env = {"WEB_CONCURRENCY": str(workers)} if workers else {}
    c.run(module("gunicorn", "-c gunicorn.conf.py"), env=env, pty=False)


@task()
def jobs(c: Context) -> None:
    """Run every periodic job once (purges, scheduled work): call it from cron."""
    from app.extensions.jobs import run_all

    from .application import app_context

    with app_context():
        for name, handled in run_all().items():
            print(f"{name}: {handled}")
