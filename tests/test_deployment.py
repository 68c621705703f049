"""Parley as deployed: gunicorn instances on PostgreSQL and Redis, behind nginx with deploy/nginx.conf.

Everything runs on loopback and is started here: a stand-in upstream (for what nginx alone decides),
two gunicorn instances of the real app on a fresh database, and nginx rendered from the template.
Every request leaves from a random 127.x.y.z address: rate limits are per client address and live
in the shared Redis, so a fresh address gives each run its own budget.
"""

from __future__ import annotations

import http.client
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine, text

from config import BaseConfig
from tests.conftest import IN_CI, PASSWORD
from tests.processes import LOOPBACK, ROOT, Processes, Service, free_port, wait_until

pytestmark = pytest.mark.engine_independent

NGINX_TEMPLATE = ROOT / "deploy" / "nginx.conf"


def random_loopback_address() -> str:
    return f"127.{secrets.randbelow(254) + 1}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


CLIENT_ADDRESS = random_loopback_address()
MAX_BODY = BaseConfig.MAX_CONTENT_LENGTH
ACCESS_LINE = re.compile(
    r"\[(?P<id>[A-Za-z0-9._-]+)\] parley\.access: (?P<method>\S+) (?P<path>\S+) (?P<status>\d+)"
)


# --- HTTP from a chosen loopback address ---------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def request_id(self) -> str:
        return self.headers["X-Request-ID"]


def call(
    port: int,
    method: str,
    path: str,
    *,
    json_body: Any = None,
    form: dict[str, str] | None = None,
    body: bytes | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    source: str = CLIENT_ADDRESS,
    timeout: float = 15,
) -> Answer:
    headers = dict(headers or {})
    if json_body is not None:
        body = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        body = urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout, source_address=(source, 0))
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Answer(response.status, response.msg, response.read())
    finally:
        connection.close()


# --- nginx ---------------------------------------------------------------------------------------


def render_nginx_conf(**values: str) -> str:
    """Fill every {{NAME}} of deploy/nginx.conf; a placeholder without a value is an error."""

    def fill(match: re.Match[str]) -> str:
        return values[match.group(1).lower()]

    return re.sub(r"\{\{([A-Z_]+)\}\}", fill, NGINX_TEMPLATE.read_text())


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)), None
    )
    if found is None:
        message = "nginx is not installed: the deployment tests run it in front of gunicorn"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


@dataclass
class Nginx:
    port: int
    access_log: Path
    service: Service

    def log_entries(self, request_ids: set[str]) -> dict[str, dict[str, Any]]:
        """nginx's log line for each request id, waiting briefly for lines written after the answer."""
        deadline = time.monotonic() + 5
        while True:
            entries = {}
            if self.access_log.exists():
                for line in self.access_log.read_text().splitlines():
                    entry = json.loads(line)
                    entries[entry["request_id"]] = entry
            if request_ids <= entries.keys() or time.monotonic() > deadline:
                return entries
            time.sleep(0.05)


@pytest.fixture
def start_nginx(processes: Processes, tmp_path: Path, nginx_binary: str) -> Callable[[list[int]], Nginx]:
    def start(upstream_ports: list[int]) -> Nginx:
        prefix = tmp_path / "nginx"
        (prefix / "temp").mkdir(parents=True)
        port = free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(
            render_nginx_conf(
                user=pwd.getpwuid(os.geteuid()).pw_name,  # ignored with a warning unless root
                listen=f"{LOOPBACK}:{port}",
                server_name=LOOPBACK,
                upstreams="\n        ".join(
                    f"server {LOOPBACK}:{p} max_fails=3 fail_timeout=10s;" for p in upstream_ports
                ),
                temp_dir=str(prefix / "temp"),
                access_log=str(prefix / "access.log"),
            )
        )
        service = processes.start(
            "nginx",
            [
                nginx_binary,
                *("-p", f"{prefix}/", "-e", "stderr", "-c", str(conf)),
                *("-g", f"daemon off; pid {prefix / 'nginx.pid'}; error_log stderr;"),
            ],
        )

        def accepts() -> bool:
            try:
                socket.create_connection((LOOPBACK, port), timeout=0.2).close()
            except OSError:
                return False
            return True

        wait_until(accepts, service, timeout=10)
        return Nginx(port, prefix / "access.log", service)

    return start


# --- a stand-in upstream, for what nginx alone decides --------------------------------------------


class EchoUpstream(BaseHTTPRequestHandler):
    """Answers with what it received; `/api/v1/events` sends one frame, then waits for `release`."""

    protocol_version = "HTTP/1.1"
    release = threading.Event()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _echo(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        received = 0
        while received < length:
            received += len(self.rfile.read(min(65536, length - received)))
        body = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "version": self.request_version,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body_bytes": received,
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"data: first\n\n")
        self.wfile.flush()
        self.release.wait(timeout=10)
        self.wfile.write(b"data: last\n\n")
        self.close_connection = True

    def do_GET(self) -> None:
        self._stream() if self.path.startswith("/api/v1/events") else self._echo()

    do_POST = _echo


@pytest.fixture
def echo_upstream() -> Iterator[int]:
    EchoUpstream.release = threading.Event()
    server = ThreadingHTTPServer((LOOPBACK, 0), EchoUpstream)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[1]
    EchoUpstream.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def nginx_alone(start_nginx: Callable[[list[int]], Nginx], echo_upstream: int) -> Nginx:
    return start_nginx([echo_upstream])


# --- Parley under gunicorn -----------------------------------------------------------------------


@dataclass
class Instance:
    port: int
    service: Service

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def access_lines(self) -> dict[str, tuple[str, str, int]]:
        """The app's access log: request id -> (method, path, status)."""
        return {
            m["id"]: (m["method"], m["path"], int(m["status"]))
            for m in ACCESS_LINE.finditer(self.service.output())
        }


@pytest.fixture
def start_parley(processes: Processes, postgres_database: str, redis_url: str) -> Callable[..., Instance]:
    """`gunicorn -c gunicorn.conf.py` as production runs it; every instance shares one SECRET_KEY."""
    secret_key = secrets.token_hex(32)

    def start(name: str, **extra_env: str) -> Instance:
        port = free_port()
        env = {key: value for key, value in os.environ.items() if not key.startswith("PARLEY_")}
        env.update(
            PARLEY_CONFIG="production",
            SECRET_KEY=secret_key,
            DATABASE_URL=postgres_database,
            REDIS_URL=redis_url,
            PARLEY_HOST=LOOPBACK,
            PARLEY_PORT=str(port),
            PARLEY_TRUSTED_HOSTS=LOOPBACK,  # the issuer is nginx's address: the Host it forwards
            WEB_CONCURRENCY="1",
            LOG_LEVEL="INFO",
            **extra_env,
        )
        service = processes.start(name, [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"], env)

        def ready() -> bool:
            try:
                return call(port, "GET", "/readyz").status == 200
            except OSError:
                return False

        wait_until(ready, service, timeout=45)
        return Instance(port, service)

    return start


# --- nginx on its own ----------------------------------------------------------------------------


def test_nginx_forwards_client_address_scheme_host_and_request_id_over_http11_keepalive(nginx_alone):
    answer = call(nginx_alone.port, "GET", "/api/v1/users?q=al", headers={"X-Forwarded-For": "203.0.113.9"})

    assert answer.status == 200
    seen = answer.json()
    assert seen["path"] == "/api/v1/users?q=al"
    assert seen["version"] == "HTTP/1.1"
    assert "connection" not in seen["headers"]  # not "close": upstream connections are reused
    headers = seen["headers"]
    # The client's own claim stays to the left; the address nginx saw is the last, trusted one.
    assert headers["x-forwarded-for"] == f"203.0.113.9, {CLIENT_ADDRESS}"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["host"] == headers["x-forwarded-host"] == f"{LOOPBACK}:{nginx_alone.port}"
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])


def test_nginx_keeps_a_well_formed_request_id_and_replaces_a_malformed_one(nginx_alone):
    kept = call(nginx_alone.port, "GET", "/", headers={"X-Request-ID": "edge-42.a_b"})
    replaced = call(nginx_alone.port, "GET", "/", headers={"X-Request-ID": "no spaces; or semicolons"})

    assert kept.json()["headers"]["x-request-id"] == "edge-42.a_b"
    replaced_id = replaced.json()["headers"]["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", replaced_id)
    logged = nginx_alone.log_entries({"edge-42.a_b", replaced_id})
    assert logged["edge-42.a_b"]["upstream_status"] == logged[replaced_id]["upstream_status"] == "200"


def test_event_streams_pass_through_nginx_unbuffered(nginx_alone):
    connection = http.client.HTTPConnection(
        LOOPBACK, nginx_alone.port, timeout=3, source_address=(CLIENT_ADDRESS, 0)
    )
    try:
        connection.request("GET", "/api/v1/events")
        response = connection.getresponse()
        assert response.status == 200
        assert response.headers["X-Accel-Buffering"] == "no"
        # The upstream holds the stream open after its first frame: a buffering proxy sends nothing yet.
        first = response.readline()
        assert first == b"data: first\n"
        EchoUpstream.release.set()
        assert response.read() == b"\ndata: last\n\n"
    finally:
        connection.close()


def test_nginx_accepts_a_body_at_the_apps_limit_and_answers_the_apps_json_413_above_it(nginx_alone):
    at_limit = call(nginx_alone.port, "POST", "/api/v1/uploads", body=b"x" * MAX_BODY)
    assert at_limit.status == 200
    assert at_limit.json()["body_bytes"] == MAX_BODY  # spooled through nginx's temp directory

    with socket.create_connection((LOOPBACK, nginx_alone.port), timeout=5) as raw:
        raw.sendall(
            f"POST /api/v1/uploads HTTP/1.1\r\nHost: {LOOPBACK}:{nginx_alone.port}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode()
        )
        answer = http.client.HTTPResponse(raw)
        answer.begin()
        body = answer.read()
    assert answer.status == 413
    assert answer.headers["Content-Type"] == "application/json"
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"])
    assert json.loads(body) == {
        "code": 413,
        "status": "Payload Too Large",
        "message": f"Request bodies are limited to {MAX_BODY} bytes.",
    }


def test_nginx_gives_no_answer_for_an_unknown_host_name(nginx_alone):
    with pytest.raises(http.client.RemoteDisconnected):
        call(nginx_alone.port, "GET", "/healthz", headers={"Host": "parley.attacker.example"})
    assert call(nginx_alone.port, "GET", "/healthz").status == 200


# --- the real app, two instances behind nginx -------------------------------------------------------


def test_a_conversation_through_nginx_is_shared_between_two_gunicorn_instances(start_parley, start_nginx):
    # Both at once, as an orchestrator starts them: on PostgreSQL one master migrates, the other waits.
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(
            lambda name: start_parley(name, PARLEY_PROXY_HOPS="1"), ["gunicorn-1", "gunicorn-2"]
        )
    nginx = start_nginx([first.port, second.port])
    port = nginx.port
    answers: list[tuple[str, Answer]] = []

    def step(label: str, *args: Any, **kwargs: Any) -> Answer:
        answer = call(port, *args, **kwargs)
        answers.append((label, answer))
        return answer

    ready = step("readyz", "GET", "/readyz")
    assert ready.status == 200
    assert ready.json()["status"] == "ok"
    # Behind the proxy the app names the public address, not the instance's.
    issuer = step("metadata", "GET", "/.well-known/oauth-authorization-server").json()["issuer"]
    assert issuer == f"http://{LOOPBACK}:{port}"

    users = {}
    for name in ("alice", "bob"):
        # From two client addresses: each has its own sign-up budget, as the app sees them through
        # nginx's X-Forwarded-For (PARLEY_PROXY_HOPS=1), not one budget for the proxy's address.
        signed_up = step(
            f"sign up {name}",
            "POST",
            "/api/v1/users",
            json_body={"username": name, "password": PASSWORD},
            source=random_loopback_address(),
        )
        assert signed_up.status == 201, signed_up.body
        limit = int(signed_up.headers["X-RateLimit-Limit"])
        assert int(signed_up.headers["X-RateLimit-Remaining"]) == limit - 1
        granted = step(
            f"token {name}",
            "POST",
            "/auth/oauth2/token",
            form={
                "grant_type": "password",
                "client_id": "documentation",
                "username": name,
                "password": PASSWORD,
            },
        )
        assert granted.status == 200, granted.body
        users[name] = {"id": signed_up.json()["id"], "token": granted.json()["access_token"]}
    alice, bob = users["alice"]["token"], users["bob"]["token"]

    me = step("alice me", "GET", "/api/v1/users/me", token=alice, headers={"X-Request-ID": "conversation-me"})
    assert me.status == 200
    assert me.json()["username"] == "alice"
    assert me.request_id == "conversation-me"
    found = step("search", "GET", "/api/v1/users?q=bo", token=alice)
    assert found.status == 200
    assert [user["username"] for user in found.json()] == ["bob"]
    patched = step("patch", "PATCH", "/api/v1/users/me", token=alice, json_body={"display_name": "Alice L."})
    assert patched.status == 200
    for attempt in range(2):  # round robin: one read on each instance
        reread = step(f"alice me again {attempt}", "GET", "/api/v1/users/me", token=alice)
        assert reread.json()["display_name"] == "Alice L."
    bob_profile = step("bob profile", "GET", f"/api/v1/users/{users['bob']['id']}", token=bob)
    assert bob_profile.status == 200
    deleted = step(
        "delete bob", "DELETE", "/api/v1/users/me", token=bob, json_body={"current_password": PASSWORD}
    )
    assert deleted.status == 204
    for attempt in range(2):  # revoked on both instances
        assert step(f"bob me after delete {attempt}", "GET", "/api/v1/users/me", token=bob).status == 401

    # Which instance served what: nginx's log names the upstream, each instance's log the request ids.
    request_ids = {answer.request_id for _, answer in answers}
    assert len(request_ids) == len(answers)
    logged = nginx.log_entries(request_ids)
    served_by = {label: logged[answer.request_id]["upstream"] for label, answer in answers}
    assert set(served_by.values()) == {first.address, second.address}, served_by
    for instance in (first, second):
        seen = instance.access_lines()
        mine = {answer.request_id for label, answer in answers if served_by[label] == instance.address}
        assert mine <= seen.keys(), f"{instance.service.name} did not log {mine - seen.keys()}"
        assert len(mine) >= 3
    # A token issued by one instance is honoured by the other (one SECRET_KEY, one database),
    # and a deletion on one instance revokes the tokens on both.
    honoured_by = {served_by[label] for label, answer in answers if label.startswith("alice me")}
    assert honoured_by == {first.address, second.address}
    refused_by = {served_by[label] for label, _ in answers if label.startswith("bob me after delete")}
    assert refused_by == {first.address, second.address}


# --- SIGTERM ---------------------------------------------------------------------------------------


def test_sigterm_lets_a_slowly_sent_request_finish_with_201_stops_accepting_and_exits_0(start_parley):
    instance = start_parley("gunicorn-drain")
    body = json.dumps({"username": "drain", "password": PASSWORD, "display_name": "Sent slowly"}).encode()
    pieces = [body[i : i + 8] for i in range(0, len(body), 8)]
    pause = 2.4 / len(pieces)
    refused_while_in_flight = False

    with socket.create_connection(
        (LOOPBACK, instance.port), timeout=30, source_address=(CLIENT_ADDRESS, 0)
    ) as raw:
        raw.sendall(
            f"POST /api/v1/users HTTP/1.1\r\nHost: {instance.address}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        )
        for index, piece in enumerate(pieces):
            raw.sendall(piece)
            time.sleep(pause)
            if index == 1:
                instance.service.process.send_signal(signal.SIGTERM)
            elif index > 1 and not refused_while_in_flight:
                try:
                    socket.create_connection((LOOPBACK, instance.port), timeout=0.2).close()
                except ConnectionRefusedError:
                    refused_while_in_flight = True
        assert instance.service.process.poll() is None, "gunicorn exited before the request finished"
        answer = http.client.HTTPResponse(raw)
        answer.begin()
        created = json.loads(answer.read())

    assert answer.status == 201, created
    assert created["username"] == "drain"
    assert created["display_name"] == "Sent slowly"
    assert refused_while_in_flight, "new connections were still accepted while draining"
    assert instance.service.process.wait(timeout=25) == 0


# --- one worker, many requests ---------------------------------------------------------------------


def test_a_request_waiting_on_postgresql_does_not_stall_the_other_requests_of_its_worker(
    start_parley, postgres_database
):
    instance = start_parley("gunicorn-cooperative")  # WEB_CONCURRENCY=1: one worker, one event loop
    engine = create_engine(postgres_database)
    outcome: dict[str, Any] = {}

    def look_up_a_token() -> None:  # the bearer token lookup reads oauth2_tokens, locked below
        outcome["answer"] = call(instance.port, "GET", "/api/v1/users/me", token="not-a-token", timeout=30)

    waiting = threading.Thread(target=look_up_a_token)
    try:
        with engine.connect() as locker, engine.connect() as observer:
            locker.execute(text("LOCK TABLE oauth2_tokens IN ACCESS EXCLUSIVE MODE"))
            waiting.start()
            blocked = text(
                "SELECT count(*) FROM pg_locks JOIN pg_class ON pg_class.oid = pg_locks.relation"
                " WHERE pg_class.relname = 'oauth2_tokens' AND NOT pg_locks.granted"
            )
            deadline = time.monotonic() + 10
            while observer.execute(blocked).scalar() == 0:
                assert time.monotonic() < deadline, "the token lookup never reached the lock"
                time.sleep(0.05)
            started = time.monotonic()
            beside = call(instance.port, "GET", "/healthz", timeout=3)
            assert beside.status == 200
            assert time.monotonic() - started < 1
            locker.rollback()
        waiting.join(timeout=30)
        assert outcome["answer"].status == 401
    finally:  # leaving the connections' block has already released the lock
        if waiting.is_alive():
            waiting.join(timeout=30)
        engine.dispose()
