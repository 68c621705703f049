"""Run the development server."""

from invoke import Context, task


@task(help={"host": "address to bind (default 127.0.0.1)", "port": "port (default 8000)"})
def run(c: Context, host: str = "", port: int = 0) -> None:
    """Install what is missing, migrate and seed the database, start the development server."""
    args = (f" --host {host}" if host else "") + (f" --port {port}" if port else "")
    c.run(f"python3 server.py{args}", pty=False)
