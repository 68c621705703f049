"""The first start: `bootstrap.py` creates the virtualenv and says what it is doing while it installs,
with pip or, when `PARLEY_UV` names it, with uv."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import ROOT

pytestmark = pytest.mark.engine_independent

# The interpreter the project's virtualenv was made from: bootstrapping only happens outside any venv.
BASE_PYTHON = str(Path(sys.base_prefix) / "bin" / "python3")


def start_twice(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """Bootstrap a new virtualenv (a requirement it already has, nothing to download), then again:
    the second start must say nothing. The first start's output."""
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("--no-index\npip\n")
    program = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); import bootstrap; "
        f"bootstrap.ensure_venv({str(requirements)!r}); print('running in', sys.prefix)"
    )
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PARLEY_VENV": str(tmp_path / "venv")}
    environment.update(settings)

    first = subprocess.run(
        [BASE_PYTHON, "-c", program], env=environment, capture_output=True, text=True, timeout=120
    )

    assert first.returncode == 0, first.stdout + first.stderr
    assert f"parley: creating a virtualenv in {tmp_path / 'venv'}" in first.stderr
    assert "parley: installed" in first.stderr
    assert f"running in {tmp_path / 'venv'}" in first.stdout
    again = subprocess.run(
        [BASE_PYTHON, "-c", program], env=environment, capture_output=True, text=True, timeout=60
    )
    assert "parley:" not in again.stderr, "nothing to say once installed"
    assert f"running in {tmp_path / 'venv'}" in again.stdout
    assert (tmp_path / "venv" / ".installed-requirements").exists()
    return first


def test_the_first_start_reports_each_step_and_shows_pips_own_output(tmp_path: Path) -> None:
    first = start_twice(tmp_path)

    assert "pip's progress follows" in first.stderr
    assert "Requirement already satisfied: pip" in first.stdout, "pip's own output is shown"


def test_parley_uv_installs_with_uv_instead_of_pip(tmp_path: Path) -> None:
    uv = os.environ.get("PARLEY_UV") or shutil.which("uv")
    if uv is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PARLEY_UV is not set: .ci/run installs uv and names it")
        pytest.skip("no uv here (.ci/run installs one)")

    first = start_twice(tmp_path, PARLEY_UV=uv)

    assert "uv's progress follows" in first.stderr
    assert "Checked 1 package" in first.stderr, "uv's own output is shown"
    assert "Requirement already satisfied" not in first.stdout, "and pip did not run"
