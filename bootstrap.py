"""Run a command inside the project's virtualenv, creating it on first use.

Standard library only: this runs before any dependency is installed, so that
`python3 server.py` and `python3 -m tests` work on a fresh clone.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("PARLEY_VENV", ROOT / ".venv"))


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _in_any_virtualenv() -> bool:
    return sys.prefix != sys.base_prefix


def ensure_venv(requirements: str) -> None:
    """Re-exec the current command in `.venv`, installing `requirements` if they changed.

    Does nothing inside any virtualenv (a container image, an activated venv)
    or when `PARLEY_NO_BOOTSTRAP` is set: then the caller manages packages.
    """
    if os.environ.get("PARLEY_NO_BOOTSTRAP") or _in_any_virtualenv():
        return
    req_path = ROOT / requirements
    digest = _requirements_digest(req_path)
    stamp = VENV / f".installed-{req_path.stem}"
    if not _venv_python().exists():
        _say(f"creating a virtualenv in {VENV} (first run only)")
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not stamp.exists() or stamp.read_text() != digest:
        name, install = _installer()
        _say(f"installing {requirements} into {VENV}: this can take a few minutes, {name}'s progress follows")
        subprocess.run([*install, "-r", str(req_path)], check=True)  # noqa: S603  (fixed arguments)
        stamp.write_text(digest)
        _say(f"installed {requirements}")
    os.execv(str(_venv_python()), [str(_venv_python()), *sys.orig_argv[1:]])  # noqa: S606


def _installer() -> tuple[str, list[str]]:
    """pip in the virtualenv, or the uv program `PARLEY_UV` names: the same pinned packages in
    seconds rather than a minute (CI sets it). Opt-in, since uv reads none of pip's configuration
    (a private index in pip.conf, for one)."""
    uv = os.environ.get("PARLEY_UV")
    if uv:
        return "uv", [uv, "pip", "install", "--compile-bytecode", "--python", str(_venv_python())]
    return "pip", [str(_venv_python()), "-m", "pip", "install", "--disable-pip-version-check"]


def _say(step: str) -> None:
    """A line on stderr per step, so that a first start that takes minutes does not look hung."""
    print(f"parley: {step}", file=sys.stderr, flush=True)


def _requirements_digest(path: Path) -> str:
    """Hash a requirements file together with the files it includes with `-r`."""
    h = hashlib.sha256()
    for line in path.read_text().splitlines():
        h.update(line.encode())
        if line.startswith("-r "):
            h.update(_requirements_digest(path.parent / line[3:].strip()).encode())
    return h.hexdigest()
