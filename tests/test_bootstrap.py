"""The first start: `bootstrap.py` creates the virtualenv and says what it is doing while it installs."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import ROOT

pytestmark = pytest.mark.engine_independent

# The interpreter the project's virtualenv was made from: bootstrapping only happens outside any venv.
BASE_PYTHON = str(Path(sys.base_prefix) / "bin" / "python3")


def test_the_first_start_reports_each_step_and_shows_pips_own_output(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("--no-index\npip\n")  # already in a new venv: nothing to download
    program = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); import bootstrap; "
        f"bootstrap.ensure_venv({str(requirements)!r}); print('running in', sys.prefix)"
    )
    environment = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PARLEY_VENV": str(tmp_path / "venv"),
    }

    first = subprocess.run(
        [BASE_PYTHON, "-c", program], env=environment, capture_output=True, text=True, timeout=120
    )

    assert first.returncode == 0, first.stdout + first.stderr
    assert f"parley: creating a virtualenv in {tmp_path / 'venv'}" in first.stderr
    assert "parley: installing" in first.stderr and "parley: installed" in first.stderr
    assert "Requirement already satisfied: pip" in first.stdout, "pip's own output is shown"
    assert f"running in {tmp_path / 'venv'}" in first.stdout
    again = subprocess.run(
        [BASE_PYTHON, "-c", program], env=environment, capture_output=True, text=True, timeout=60
    )
    assert "parley:" not in again.stderr, "nothing to say once installed"
    assert (tmp_path / "venv" / ".installed-requirements").exists()
