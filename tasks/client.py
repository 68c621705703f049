"""The Python SDK (clients/python/): generated from the OpenAPI document by openapi-python-client.

A collection of its own, `client`: `clients` is the OAuth2 clients registered with the server.
One subpackage of the SDK is written by hand, the terminal client (`HAND_WRITTEN`): the generator
never writes there, and `generate` carries it over into each new tree; the SDK's pyproject.toml
comes from our template (`TEMPLATES`), which adds its console script and its `chat` extra.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from invoke import Context, task
from invoke.exceptions import Exit

from .application import app_context

ROOT = Path(__file__).resolve().parent.parent
SDK = ROOT / "clients" / "python"
GENERATOR_CONFIG = {
    # The distribution and import names; the version is the document's `info.version`.
    "project_name_override": "parley-client",
    "package_name_override": "parley_client",
    # The document's OAuth2 client schema is `Client`, which would shadow the SDK's HTTP `Client`.
    "class_overrides": {"Client": {"class_name": "OAuthClient", "module_name": "oauth_client"}},
}
# Its metadata: a PEP 621 pyproject.toml, so that `pip install clients/python` works.
META = "pdm"
# Templates that replace the generator's own of the same name (openapi-python-client's supported way).
TEMPLATES = ROOT / "tasks" / "sdk_templates"
# parley-chat, inside the SDK's distribution but not generated (tests/test_terminal_client.py).
HAND_WRITTEN = Path("parley_client") / "chat"


def write_sdk(document: dict[str, Any], output: Path) -> str:
    """Generate the SDK for `document` into `output` (which must not exist) and return what the
    generator said. The generator formats its output with ruff, found on PATH: the venv's, so that
    the same document always gives the same files."""
    venv = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as work:
        (Path(work) / "openapi.json").write_text(json.dumps(document))
        (Path(work) / "config.json").write_text(json.dumps(GENERATOR_CONFIG))
        generated = subprocess.run(  # noqa: S603  (the venv's generator, argv built here)
            [
                str(venv / "openapi-python-client"),
                "generate",
                "--path",
                "openapi.json",
                "--config",
                "config.json",
                "--meta",
                META,
                "--custom-template-path",
                str(TEMPLATES),
                "--fail-on-warning",
                "--output-path",
                str(output.resolve()),
            ],
            cwd=work,
            env={**os.environ, "PATH": f"{venv}{os.pathsep}{os.environ['PATH']}", "RUFF_NO_CACHE": "true"},
            capture_output=True,
            text=True,
            timeout=300,
        )
    said = generated.stdout + generated.stderr
    if generated.returncode != 0:
        raise Exit(f"error: openapi-python-client failed:\n{said}", 1)
    return said


@task
def generate(c: Context) -> None:
    """Regenerate clients/python/ from the current OpenAPI document (replacing all but `HAND_WRITTEN`)."""
    from app.extensions import api

    with app_context("development"):
        document = api.spec.to_dict()
    with tempfile.TemporaryDirectory(dir=SDK.parent) as work:
        said = write_sdk(document, Path(work) / "python")
        caches = shutil.ignore_patterns("__pycache__", ".ruff_cache", ".mypy_cache")
        shutil.copytree(SDK / HAND_WRITTEN, Path(work) / "python" / HAND_WRITTEN, ignore=caches)
        shutil.rmtree(SDK, ignore_errors=True)
        (Path(work) / "python").rename(SDK)
    print(said.strip())
    print(f"wrote {SDK.relative_to(ROOT)}")
