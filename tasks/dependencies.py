"""Python dependencies."""

from invoke import Context, task

from .python import module


@task(help={"dev": "also install the development tools (tests, lint)"})
def install(c: Context, dev: bool = False) -> None:
    """Install the pinned requirements into the current environment."""
    requirements = "requirements-dev.txt" if dev else "requirements.txt"
    c.run(module("pip", f"install -q --disable-pip-version-check -r {requirements}"), pty=False)
