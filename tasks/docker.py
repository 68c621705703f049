"""The container image (the Dockerfile at the repository root)."""

import shlex
import shutil
from pathlib import Path

from invoke import Context, task
from invoke.exceptions import CommandTimedOut, Exit

ROOT = Path(__file__).resolve().parent.parent


@task(help={"tag": "image name and tag (default parley)"})
def build(c: Context, tag: str = "parley") -> None:
    """Build the image: `docker build -t TAG .` in the repository root."""
    if shutil.which("docker") is None:
        raise Exit("error: docker is not installed: install Docker to build the image", 1)
    try:
        engine = c.run("docker info", hide=True, warn=True, timeout=30, in_stream=False)
    except CommandTimedOut:
        raise Exit("error: no Docker engine answers (`docker info` timed out): start one", 1) from None
    if engine is None or engine.failed:  # (a Result is falsy when the command failed)
        said = engine.stderr.strip().splitlines() if engine is not None else []
        reason = said[-1] if said else "`docker info` failed"
        raise Exit(f"error: no Docker engine answers ({reason}): start one, or point DOCKER_HOST at one", 1)
    with c.cd(str(ROOT)):
        c.run(f"docker build -t {shlex.quote(tag)} .", pty=False, in_stream=False)
