"""`python3 -m tests [pytest args]`: run the suite in the project's virtualenv, creating it if needed."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bootstrap import ensure_venv

ensure_venv("requirements-dev.txt")

import pytest  # noqa: E402

sys.exit(pytest.main(sys.argv[1:]))
