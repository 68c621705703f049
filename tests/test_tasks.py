"""The invoke tasks, run as an operator would, against a throw-away database."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine_independent

ROOT = Path(__file__).resolve().parent.parent
INVOKE = [sys.executable, "-m", "invoke"]


@pytest.fixture
def invoke(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}", "PARLEY_CONFIG": "development"}

    def run(*args: str, check: bool = True, **overrides: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [*INVOKE, *args],
            cwd=ROOT,
            env={**env, **overrides},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    run("app.db.upgrade")
    return run


def test_every_task_is_listed_with_help(invoke):
    listing = invoke("--list").stdout
    for name in (
        "app.run",
        "app.serve",
        "app.jobs",
        "app.env.enter",
        "app.dependencies.install",
        "app.db.upgrade",
        "app.db.downgrade",
        "app.db.revision",
        "app.db.current",
        "app.db.history",
        "app.db.stamp",
        "app.db.init-development-data",
        "app.users.create",
        "app.clients.create",
        "app.openapi.export",
        "test",
        "lint",
        "bench",
        "docker.build",
    ):
        line = next((entry for entry in listing.splitlines() if entry.strip().startswith(name + " ")), "")
        assert line.split(name, 1)[1].strip(), f"{name} has no help text"


def test_creating_a_user_twice_fails_the_second_time_with_a_message(invoke):
    assert (
        "created user"
        in invoke("app.users.create", "--username", "ops", "--password", "long enough", "--admin").stdout
    )
    again = invoke("app.users.create", "--username", "OPS", "--password", "long enough", check=False)
    assert again.returncode != 0
    assert "username is taken" in again.stderr


def test_a_created_client_prints_a_working_secret_once(invoke, tmp_path):
    invoke("app.users.create", "--username", "owner", "--password", "long enough")
    output = invoke("app.clients.create", "--owner", "owner", "--name", "bot").stdout
    fields = dict(line.split(":", 1) for line in output.splitlines() if ":" in line)
    assert fields["client_id"].strip() and len(fields["client_secret"].strip()) >= 32


def test_the_openapi_export_writes_the_document(invoke, tmp_path):
    target = tmp_path / "openapi.json"
    invoke("app.openapi.export", "--output", str(target))
    assert '"/api/v1/users/me"' in target.read_text()


def test_development_data_is_created_once_and_refused_outside_development(invoke):
    assert "created alice" in invoke("app.db.init-development-data").stdout
    assert "created" not in invoke("app.db.init-development-data").stdout
    refused = invoke(
        "app.db.init-development-data",
        check=False,
        PARLEY_CONFIG="production",
        SECRET_KEY="k" * 32,
        PARLEY_PUBLIC_URL="https://chat.example.com",
    )
    assert refused.returncode != 0
    assert "development data only" in refused.stderr


def test_jobs_run_once_and_report_what_they_handled(invoke):
    assert "auth.purge_dead_credentials: 0" in invoke("app.jobs").stdout


def test_the_database_goes_down_and_up_again(invoke):
    invoke("app.db.downgrade", "--revision", "base")
    assert "(head)" not in invoke("app.db.current").stdout
    invoke("app.db.upgrade")
    assert "(head)" in invoke("app.db.current").stdout
