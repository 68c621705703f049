"""Parley as a separate program, driven over HTTP as its clients drive it.

`start_parley` runs `server.py` (the development server) or gunicorn with `gunicorn.conf.py`
on a free port. Each `Parley` talks from its own random loopback address, so the per-address
rate limits of sign-up and the token endpoint give every test a fresh budget.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import redis

from app import create_app
from app.extensions import db
from app.provisioning import prepare_database
from tests.conftest import IN_CI
from tests.processes import LOOPBACK, Processes, Service, free_port, wait_until

PASSWORD = "correct horse battery"
SECRET_KEY = secrets.token_hex(32)  # shared by every process of a run, as in production


def random_loopback_address() -> str:
    return f"127.{secrets.randbelow(254) + 1}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


@dataclass
class Account:
    id: int
    username: str
    token: str


@dataclass
class Parley:
    port: int
    service: Service
    source: str = field(default_factory=random_loopback_address)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        transport = httpx.HTTPTransport(local_address=self.source)
        return httpx.Client(base_url=self.url, headers=headers, transport=transport, **kwargs)

    def token(self, username: str, scope: str | None = None) -> str:
        form = {"grant_type": "password", "username": username, "password": PASSWORD}
        if scope is not None:
            form["scope"] = scope
        with self.client() as http:
            answer = http.post("/auth/oauth2/token", data=form, auth=("documentation", ""))
        assert answer.status_code == 200, answer.text
        return answer.json()["access_token"]

    def sign_up(self, username: str) -> Account:
        with self.client() as http:
            answer = http.post("/api/v1/users", json={"username": username, "password": PASSWORD})
        assert answer.status_code == 201, answer.text
        return Account(answer.json()["id"], username, self.token(username))


def provision(database_url: str) -> None:
    """Migrate and seed a server database from the test process: servers started next find it ready.

    Two servers migrating one fresh SQLite file at once would collide; once it is at head they may
    start side by side.
    """
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url)
    prepare_database(app)
    with app.app_context():
        db.engine.dispose()


def start_parley(
    processes: Processes,
    name: str,
    database_url: str,
    *,
    gunicorn: bool = False,
    port: int | None = None,
    extra_env: Mapping[str, str] | None = None,
    **env: str,
) -> Parley:
    """Start one server process and wait until `/readyz` answers; `env` adds settings (REDIS_URL, …).

    `extra_env` adds a dict of them: unpacked as `**settings`, mypy would check it against `port` too.
    """
    port = port or free_port()
    settings = {key: value for key, value in os.environ.items() if not key.startswith("PARLEY_")}
    settings.pop("REDIS_URL", None)
    settings.update(
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET_KEY,
        PARLEY_HOST=LOOPBACK,
        PARLEY_PORT=str(port),
        PARLEY_UPLOAD_DIR=str(processes.logs / "uploads"),
        LOG_LEVEL="INFO",
        **(extra_env or {}),
        **env,
    )
    if gunicorn:
        settings.setdefault("PARLEY_CONFIG", "production")
        settings.setdefault("PARLEY_PUBLIC_URL", f"http://{LOOPBACK}:{port}")
        settings.setdefault("WEB_CONCURRENCY", "1")
        argv = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
    else:
        argv = [sys.executable, "server.py"]
    parley = Parley(port, processes.start(name, argv, settings))

    def ready() -> bool:
        try:
            with parley.client(timeout=2) as http:
                return http.get("/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, parley.service, timeout=60)
    return parley


def start_redis(processes: Processes, port: int | None = None, name: str = "redis") -> str:
    """A redis-server of the test's own on a free port (or `port`); its URL once it answers PING."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed: these tests run their own Redis between Parley processes"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    port = port or free_port()
    argv = [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", LOOPBACK]
    service = processes.start(name, argv)
    url = f"redis://{LOOPBACK}:{port}/0"
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    try:
        wait_until(answers, service, timeout=15)
    finally:
        client.close()
    return url


def create_room(parley: Parley, owner: Account, name: str, members: list[str]) -> int:
    with parley.client(owner.token, timeout=10) as http:
        answer = http.post("/api/v1/rooms", json={"name": name, "members": members})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def send(http: httpx.Client, room_id: int, body: str) -> int:
    answer = http.post(f"/api/v1/rooms/{room_id}/messages", json={"body": body})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def assert_clean_log(service: Service) -> None:
    """Nothing went wrong in the server as far as its log tells (a logged exception, a worker timeout)."""
    log = service.output()
    for sign in ("Traceback", "[ERROR]", " ERROR ", "[CRITICAL]", "WORKER TIMEOUT"):
        assert sign not in log, f"{service.name} logged {sign!r}:\n{log[-6000:]}"


def kill(service: Service) -> None:
    """SIGKILL the whole process group: no shutdown code runs."""
    os.killpg(service.process.pid, signal.SIGKILL)
    service.process.wait(timeout=10)
