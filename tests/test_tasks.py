"""The invoke tasks, run as an operator would, against a throw-away database."""

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.processes import LOOPBACK, Processes, free_port, wait_until

pytestmark = pytest.mark.engine_independent

ROOT = Path(__file__).resolve().parent.parent
INVOKE = [sys.executable, "-m", "invoke"]
VENV_INVOKE = str(Path(sys.executable).parent / "invoke")
TOOLS_ON_PATH = ("python", "python3", "pip", "pytest", "ruff", "mypy", "gunicorn")


def invoke_with(database: Path) -> Callable[..., subprocess.CompletedProcess]:
    """`invoke ARGS` as an operator runs it, on the SQLite file `database`."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "PARLEY_CONFIG": "development"}

    def run(*args: str, check: bool = True, stdin: str = "", **overrides: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [*INVOKE, *args],
            cwd=ROOT,
            env={**env, **overrides},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    return run


@pytest.fixture(scope="module")
def upgraded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database `invoke app.db.upgrade` made, once: each test starts from a copy of it."""
    database = tmp_path_factory.mktemp("upgraded") / "ops.db"
    invoke_with(database)("app.db.upgrade")
    return database


@pytest.fixture
def invoke(upgraded_database: Path, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    database = tmp_path / "ops.db"
    shutil.copyfile(upgraded_database, database)
    return invoke_with(database)


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
        "client.generate",
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
    assert "username: Already taken." in refused(again)


def refused(result: subprocess.CompletedProcess) -> str:
    """What a refused task said: in words, one line per field, not a dict or a traceback."""
    assert result.returncode != 0, result.stdout
    assert "{" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    return result.stderr


def test_a_user_is_created_only_with_what_sign_up_accepts(invoke):
    for username, password, said in (
        ("ab", "long enough", "username: 3 to 32 characters of A-Z a-z 0-9 _ . -"),
        ("ops", "short", "password: Length must be between 8 and 128."),
        ("ops", "x" * 129, "password: Length must be between 8 and 128."),
    ):
        attempt = invoke("app.users.create", "--username", username, "--password", password, check=False)
        assert said in refused(attempt).splitlines()[1]


def test_without_a_terminal_the_password_comes_from_stdin_or_the_task_fails(invoke):
    assert "no password" in refused(invoke("app.users.create", "--username", "ops", check=False))
    too_short = invoke("app.users.create", "--username", "ops", stdin="short\n", check=False)
    assert "password: Length must be between 8 and 128." in refused(too_short)

    assert "created user" in invoke("app.users.create", "--username", "ops", stdin="long enough\n").stdout


def test_a_client_is_created_only_with_what_the_api_accepts(invoke):
    invoke("app.users.create", "--username", "owner", "--password", "long enough")
    attempt = invoke(
        "app.clients.create",
        "--owner",
        "owner",
        "--name",
        "x" * 101,
        "--scope",
        "users:read bogus",
        check=False,
    )
    said = refused(attempt)
    assert "name: Length must be between 1 and 100." in said
    assert "scope: Unknown scopes: bogus" in said
    nobody = invoke("app.clients.create", "--owner", "nobody", "--name", "bot", check=False)
    assert "no user 'nobody'" in refused(nobody)


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
    created = invoke("app.db.init-development-data").stdout
    assert "created demo-admin" in created
    readme_names = set(re.findall(r'"username": "([^"]+)"', (ROOT / "README.md").read_text()))
    assert readme_names, "the README signs someone up"
    assert not {line.removeprefix("created ") for line in created.splitlines()} & readme_names, (
        "a newcomer following the README must be able to sign up"
    )
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


# --- `.venv/bin/invoke` without the virtualenv on PATH -------------------------------------------


@pytest.fixture
def outside_the_venv(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH lacks the venv and whose `python`, `pytest`, `ruff`… all fail."""
    impostors = tmp_path / "impostors"
    impostors.mkdir()
    for name in TOOLS_ON_PATH:
        tool = impostors / name
        tool.write_text(f"#!/bin/sh\necho 'the {name} on PATH ran' >&2\nexit 97\n")
        tool.chmod(0o755)
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TEST_", "PARLEY_", "VIRTUAL_ENV", "PYTHON")) and key != "REDIS_URL"
    }
    return {
        **environment,
        "PATH": f"{impostors}:/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}",
    }


def run_outside_the_venv(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [VENV_INVOKE, *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_invoke_lists_its_tasks_without_the_venv_on_path(outside_the_venv):
    assert "app.run" in run_outside_the_venv(outside_the_venv, "--list").stdout


def test_the_test_task_runs_pytest_in_the_venv_without_it_on_path(outside_the_venv, tmp_path):
    probe = tmp_path / "test_probe.py"
    venv = str(Path(sys.prefix).resolve())
    probe.write_text(
        "import sys\nfrom pathlib import Path\n\n\n"
        f"def test_in_the_venv():\n    assert str(Path(sys.prefix).resolve()) == {venv!r}\n"
    )

    result = run_outside_the_venv(
        outside_the_venv, "test", "--args", f"-q -p no:cacheprovider --rootdir {tmp_path} {probe}"
    )

    assert "1 passed" in result.stdout


def test_the_lint_task_runs_the_venvs_ruff_without_it_on_path(outside_the_venv):
    result = run_outside_the_venv(outside_the_venv, "lint")
    assert "All checks passed!" in result.stdout  # ruff's own words: the fake on PATH exits 97
    assert "files already formatted" in result.stdout
    assert "Success: no issues found" in result.stdout  # mypy's


@pytest.mark.parametrize("task", ["app.run", "app.serve"])
def test_the_server_tasks_start_parley_without_the_venv_on_path(
    outside_the_venv: dict[str, str], processes: Processes, task: str
) -> None:
    port = free_port()
    environment = {**outside_the_venv, "PARLEY_HOST": LOOPBACK, "PARLEY_PORT": str(port)}
    if task == "app.serve":
        environment.update(
            PARLEY_CONFIG="production",
            SECRET_KEY="k" * 32,
            WEB_CONCURRENCY="1",
            PARLEY_PUBLIC_URL=f"http://{LOOPBACK}:{port}",
        )
    server = processes.start(task, [VENV_INVOKE, task], environment)

    def ready() -> bool:
        try:
            return httpx.get(f"http://{LOOPBACK}:{port}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, server, timeout=60)
    assert "on PATH ran" not in server.output()
