"""The interpreter invoke runs in: tasks start the project's tools through it.

`.venv/bin/invoke` works without activating the virtualenv, so PATH may hold another `python`,
`pytest` or `ruff` (or none): running `<this interpreter> -m <tool>` always reaches the venv's own.
"""

import shlex
import sys


def module(name: str, args: str = "") -> str:
    """A shell command running module `name` (e.g. `pytest`) with this interpreter."""
    return f"{shlex.quote(sys.executable)} -m {name} {args}".rstrip()


def script(path: str, *args: str) -> str:
    """A shell command running the project's script `path` (e.g. `server.py`) with this interpreter."""
    return shlex.join([sys.executable, path, *args])
