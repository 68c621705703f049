"""Development: tests and lint."""

from invoke import Context, task

from .python import module


@task(help={"args": "extra pytest arguments, e.g. '-k oauth2 -x'"})
def test(c: Context, args: str = "") -> None:
    """Run the test suite."""
    c.run(module("pytest", args), pty=False)


@task(help={"fix": "apply ruff's safe fixes and formatting"})
def lint(c: Context, fix: bool = False) -> None:
    """Check the code with ruff, and its types with mypy."""
    if fix:
        c.run(f"{module('ruff', 'check --fix .')} && {module('ruff', 'format .')}")
    else:
        c.run(f"{module('ruff', 'check .')} && {module('ruff', 'format --check .')}")
    c.run(module("mypy"))
