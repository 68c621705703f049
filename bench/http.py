"""HTTP benchmark: Parley's hot paths against a bare Flask app, under the same gunicorn settings.

    python -m bench.http [--duration 6] [--database sqlite|URL] [--redis-url URL] [--write]
    python -m bench.http --postgres postgresql://…/db --redis redis://…/0 --write   # both databases

Everything runs on 127.0.0.1 and is started, fed and stopped here: first the bare app
(`gunicorn -c gunicorn.conf.py bench.bare_app:app`: the command-line app wins over the
config's `wsgi_app`), whose `GET /` and `POST /write` (one INSERT and its commit) are the read
and write ceilings; then Parley (`gunicorn -c gunicorn.conf.py`, production configuration,
a generated SECRET_KEY, a fresh SQLite file unless --database names PostgreSQL). Parley's
numbers are reported as ratios to those ceilings, measured on the same machine before and again
after Parley's scenarios (each ratio is to the mean of the two: a machine that speeds up or slows
down during the run moves both sides), since absolute numbers say more about the machine than
about Parley. Then the database grows
by --extra-users users (with tokens, rooms, memberships and messages) and the reads are
measured again: the project keeps them O(log n) in table size, and this is where that shows.
With --postgres, all of it runs again on PostgreSQL (and --redis), and the report has both.

The Markdown report goes to stdout (progress to stderr); --write also puts it into
docs/benchmarks.md between its markers, and the ratios as a bar chart into docs/benchmarks.svg.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import resource
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.processes import LOOPBACK, ROOT, Processes, free_port

REPORT = ROOT / "docs" / "benchmarks.md"
PLOT = ROOT / "docs" / "benchmarks.svg"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
ACCESS_STATUS = re.compile(r" parley\.access: [A-Z]+ \S+ (\d{3}) ")  # app/extensions/logging.py's line
WRK_INSTALL = "apt-get install wrk (Debian, Ubuntu), brew install wrk (macOS)"
# wrk calls `done` once per run, after its own timing: no per-request Lua, so no extra cost.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH-JSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"connect\\": %d, \\"read\\": %d, "
    .. "\\"write\\": %d, \\"status\\": %d, \\"timeout\\": %d, \\"p50_us\\": %d, \\"p99_us\\": %d}\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class Settings:
    duration: int = 6
    warmup: int = 2
    connections: int = 64
    threads: int = 2
    workers: int | None = None  # None: what gunicorn.conf.py picks for the database
    worker_class: str | None = None  # None: gunicorn.conf.py's (gevent); e.g. sync, to compare
    database: str = "sqlite"
    redis_url: str | None = None
    extra_users: int = 10_000
    rooms: int = 50
    listeners: int = 100  # open event streams in the fan-out scenario (0 skips it)
    tool: str = "auto"
    log_level: str = "INFO"  # production's: one access line per request is part of the cost
    timeout: int = 10  # per request
    max_requests: int = 2_000_000  # per load process (Python client); wrk is bounded by time only
    write: bool = False


@dataclass
class Result:
    label: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]
    # Server CPU (master and workers) per answered request: steadier than req/s on a shared machine.
    cpu_ms: float | None = None
    # CPUs kept busy by everything but the server and the load generator during the run.
    other_cpus: float | None = None
    writes: bool = False  # compared with the write ceiling rather than the bare read
    deliveries: tuple[int, int] | None = None  # fan-out: messages the streams heard of, frames they got

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


@dataclass(frozen=True)
class Request:
    """One scenario's request, the same for every connection and every repetition."""

    path: str
    method: str = "GET"
    body: str = ""  # JSON, sent with Content-Type: application/json
    token: str = ""

    def headers(self) -> list[str]:
        return [f"Authorization: Bearer {self.token}"] if self.token else []

    def wrk_setup(self) -> str:
        """Lua that makes wrk send this method and body (a GET needs none)."""
        if self.method == "GET":
            return ""
        return (
            f'wrk.method = "{self.method}"\nwrk.body = [==[{self.body}]==]\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        )


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- processes ------------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def workers(self) -> int:
        return len(re.findall(r"Booting worker with pid", self.log.read_text(errors="replace")))

    def cpu_seconds(self) -> float | None:
        """CPU time used so far by the master and its workers (Linux /proc), None where unknown."""
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            total = 0
            for pid in [str(self.process.pid), *children]:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            return None
        return total / os.sysconf("SC_CLK_TCK")

    def wait_idle(self, limit: float = 15) -> None:
        """Let the server finish what the last run left queued, so it is not billed to the next one.

        A closed-loop client stops with up to one request per connection still queued; a slow
        endpoint can keep the workers busy for seconds after the client is gone.
        """
        deadline = time.monotonic() + limit
        previous = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            current = self.cpu_seconds()
            if previous is None or current is None:
                time.sleep(2)
                return
            if current - previous < 0.05:  # under a tenth of a core over the last half second
                return
            previous = current


@contextlib.contextmanager
def terminated_cleanly() -> Iterator[None]:
    """SIGTERM to the benchmark unwinds like Ctrl-C, so the servers it started are stopped."""

    def raise_exit(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, raise_exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- HTTP for setting up ----------------------------------------------------------------------------


def random_loopback_address() -> str:
    """A fresh client address per setup call: rate limits (kept in Redis across runs) are per address."""
    return f"127.{secrets.randbelow(254) + 1}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def call(
    port: int,
    method: str,
    path: str,
    *,
    json_body: Any = None,
    form: dict[str, str] | None = None,
    token: str | None = None,
    source: str = LOOPBACK,
    timeout: float = 15,
) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    body = None
    if json_body is not None:
        body, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
    elif form is not None:
        body, headers["Content-Type"] = urlencode(form).encode(), "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout, source_address=(source, 0))
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw.decode(errors="replace")
    finally:
        connection.close()


def expect(status: int, body: Any, wanted: int, what: str) -> Any:
    if status != wanted:
        raise SystemExit(f"bench: {what}: expected {wanted}, got {status}: {str(body)[:500]}")
    return body


# --- servers --------------------------------------------------------------------------------------


def database_url(settings: Settings, workdir: Path) -> str:
    if settings.database == "sqlite":
        return f"sqlite:///{workdir / 'parley.db'}"
    if settings.database.startswith("postgresql://"):  # psycopg 3 is the driver Parley installs
        return "postgresql+psycopg://" + settings.database.removeprefix("postgresql://")
    return settings.database


def describe_database(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return "SQLite, a fresh file in a temporary directory (WAL, synchronous=NORMAL)"
    return f"PostgreSQL `{parsed.render_as_string(hide_password=True)}`"


def server_env(settings: Settings, url: str) -> dict[str, str]:
    """Production's environment, as tests/test_deployment.py builds it; nothing inherited can override it."""
    inherited = ("PARLEY_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "WEB_CONCURRENCY", "LOG_LEVEL")
    env = {key: value for key, value in os.environ.items() if not key.startswith(inherited)}
    env.update(
        PARLEY_CONFIG="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=url,
        PARLEY_HOST=LOOPBACK,
        PARLEY_PUBLIC_URL=f"http://{LOOPBACK}",
        LOG_LEVEL=settings.log_level,
        PARLEY_USER_WRITE_RATE_LIMIT=UNLIMITED_WRITES,
    )
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    if settings.workers:
        env["WEB_CONCURRENCY"] = str(settings.workers)
    return env


def start_server(
    processes: Processes,
    name: str,
    env: dict[str, str],
    settings: Settings,
    app: str | None,
    ready_path: str,
    cwd: Path = ROOT,
) -> Server:
    """gunicorn with gunicorn.conf.py; the command line's `-k` and `app` win over the file's."""
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
    argv += ["-k", settings.worker_class] if settings.worker_class else []
    argv += [app] if app else []
    service = processes.start(name, argv, {**env, "PARLEY_PORT": str(port)}, cwd)
    process = service.process
    server = Server(name, port, process, service.log)
    deadline = time.monotonic() + 90  # the master migrates a fresh database first
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench: {name} exited with {process.returncode}:\n{server.log_tail()}")
        with contextlib.suppress(OSError):
            if call(port, "GET", ready_path, timeout=2)[0] == 200:
                return server
        time.sleep(0.2)
    raise SystemExit(f"bench: {name} not ready after 90 s:\n{server.log_tail()}")


def fixture(
    env: dict[str, str], *args: str, module: str = "bench.fixtures", cwd: Path = ROOT
) -> dict[str, Any]:
    """Run one bench/fixtures.py step (or another seeding module) with the server's environment."""
    completed = subprocess.run(  # noqa: S603  (this interpreter, our module)
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"bench: {module} {' '.join(args[:1])} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --- load generators ----------------------------------------------------------------------------------


def percentile(sorted_values: list[int], fraction: float) -> float:
    """Nearest rank, as wrk reports it."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values) + 0.5) - 1))
    return float(sorted_values[rank])


class Wrk:
    """wrk, closed loop on keep-alive connections; stops itself after -d seconds."""

    name = "wrk"
    # wrk's own percentiles (`stats_correct` in its source): not each request's wait.
    latency = (
        "p50 and p99 are wrk's, corrected for coordinated omission: a request that waited more than"
        " twice its connection's mean interval also counts the requests a client sending at that"
        " fixed rate would have sent meanwhile, so a few long waits make the p99."
    )

    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.settings = settings
        self.script = workdir / "report.lua"
        found = shutil.which("wrk")
        assert found is not None
        self.binary = found
        first = subprocess.run([found, "-v"], capture_output=True, text=True, check=False)  # noqa: S603
        self.version = (first.stdout + first.stderr).splitlines()[0].split(" [")[0].strip()

    def describe(self) -> str:
        s = self.settings
        return f"{self.version}, `-t{s.threads} -c{s.connections} --timeout {s.timeout}s`"

    def run(self, port: int, request: Request, seconds: int, label: str) -> Result:
        s = self.settings
        self.script.write_text(request.wrk_setup() + WRK_SCRIPT)
        argv = [self.binary, f"-t{s.threads}", f"-c{s.connections}", f"-d{seconds}s"]
        argv += [f"--timeout={s.timeout}s", "-s", str(self.script)]
        for header in request.headers():
            argv += ["-H", header]
        argv.append(f"http://{LOOPBACK}:{port}{request.path}")
        completed = subprocess.run(  # noqa: S603  (wrk from PATH, options built here)
            argv, capture_output=True, text=True, timeout=seconds + s.timeout + 30, check=False
        )
        line = next((x for x in completed.stdout.splitlines() if x.startswith("BENCH-JSON ")), None)
        if completed.returncode != 0 or line is None:
            raise SystemExit(f"bench: wrk failed:\n{completed.stdout}\n{completed.stderr}")
        data = json.loads(line.removeprefix("BENCH-JSON "))
        errors = {kind: data[kind] for kind in ("connect", "read", "write", "status", "timeout")}
        return Result(
            label,
            data["requests"],
            data["duration_us"] / 1e6,
            data["p50_us"] / 1e3,
            data["p99_us"] / 1e3,
            errors,
        )


class PythonClient:
    """bench/load.py in one process per wrk "thread", so the client is not one GIL-bound loop."""

    name = "python"
    latency = "p50 and p99 are of each request's own wait."

    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.settings = settings

    def describe(self) -> str:
        s = self.settings
        why = "`--tool python`" if shutil.which("wrk") else f"wrk was not found: {WRK_INSTALL}"
        return (
            f"bench/load.py (asyncio, Python {platform.python_version()}), {s.threads} processes, "
            f"{s.connections} connections ({why})"
        )

    def run(self, port: int, request: Request, seconds: int, label: str) -> Result:
        s = self.settings
        share = [s.connections // s.threads + (i < s.connections % s.threads) for i in range(s.threads)]
        argv = [sys.executable, "-m", "bench.load", "--port", str(port), "--path", request.path]
        argv += ["--method", request.method, "--body", request.body]
        argv += [
            "--duration",
            str(seconds),
            "--timeout",
            str(s.timeout),
            "--max-requests",
            str(s.max_requests),
        ]
        for header in request.headers():
            argv += ["--header", header]
        clients = [
            subprocess.Popen([*argv, "--connections", str(n)], cwd=ROOT, stdout=subprocess.PIPE, text=True)  # noqa: S603
            for n in share
            if n
        ]
        outputs = []
        try:
            for client in clients:
                out, _ = client.communicate(timeout=seconds + s.timeout + 30)
                if client.returncode != 0:
                    raise SystemExit(f"bench: bench/load.py exited with {client.returncode}")
                outputs.append(json.loads(out))
        finally:
            for client in clients:
                if client.poll() is None:
                    client.kill()
                    client.wait()
        latencies = sorted(v for o in outputs for v in o["latencies_us"])
        errors: dict[str, int] = {}
        for o in outputs:
            for kind, n in o["errors"].items():
                errors[kind] = errors.get(kind, 0) + n
        seconds_taken = max(o["elapsed"] for o in outputs)
        p50, p99 = percentile(latencies, 0.50) / 1e3, percentile(latencies, 0.99) / 1e3
        return Result(label, len(latencies), seconds_taken, p50, p99, errors)


LoadTool = Wrk | PythonClient


def pick_tool(settings: Settings, workdir: Path) -> LoadTool:
    if settings.tool == "wrk" or (settings.tool == "auto" and shutil.which("wrk")):
        if not shutil.which("wrk"):
            raise SystemExit(f"bench: wrk is not installed: {WRK_INSTALL}")
        return Wrk(settings, workdir)
    if settings.tool == "auto":
        progress(f"wrk not found, using the Python client ({WRK_INSTALL} for steadier numbers)")
    return PythonClient(settings, workdir)


def measure(tool: LoadTool, settings: Settings, server: Server, label: str, request: Request) -> Result:
    server.wait_idle()
    if settings.warmup:
        tool.run(server.port, request, settings.warmup, label)
        server.wait_idle()
    server_before, busy_before = server.cpu_seconds(), machine_busy_seconds()
    client_before, started = client_cpu_seconds(), time.monotonic()
    logged = server.log.stat().st_size
    result = tool.run(server.port, request, settings.duration, label)
    server_after, busy_after = server.cpu_seconds(), machine_busy_seconds()
    name_statuses(result, refused_in(server.log, logged))
    client_used, wall = client_cpu_seconds() - client_before, time.monotonic() - started
    if server_before is not None and server_after is not None:
        server_used = server_after - server_before
        result.cpu_ms = server_used * 1000 / result.requests if result.requests else None
        if busy_before is not None and busy_after is not None:
            result.other_cpus = max(0.0, (busy_after - busy_before - server_used - client_used) / wall)
    progress(
        f"{label}: {result.rate:,.0f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
        f"{_cpu(result)} server CPU/request, {result.error_count} errors, "
        f"other processes {result.other_cpus if result.other_cpus is not None else float('nan'):.2f} CPUs"
    )
    return result


def refused_in(log: Path, offset: int) -> Counter[int]:
    """The statuses >= 400 a server answered after byte `offset` of its log, from its access lines."""
    with log.open("rb") as lines:
        lines.seek(offset)
        logged = lines.read().decode(errors="replace")
    return Counter(status for status in map(int, ACCESS_STATUS.findall(logged)) if status >= 400)


def name_statuses(result: Result, refused: Counter[int]) -> None:
    """Say which statuses the load tool's `status` errors were (it counts answers >= 400, unnamed).

    From the server's access lines (LOG_LEVEL=INFO, as production logs): they become
    `HTTP 503` and the like, the server's own count. Without them, `status` stays, as `HTTP >= 400`.
    """
    unnamed = result.errors.pop("status", 0)
    if refused:
        result.errors.update({f"HTTP {status}": n for status, n in sorted(refused.items())})
    elif unnamed:
        result.errors["HTTP >= 400"] = unnamed


def client_cpu_seconds() -> float:
    """CPU time of this process's finished children: the load generator, once a run is waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> float | None:
    """CPU time the whole machine spent busy (/proc/stat), steal included: what else competed."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:9]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields)
    except (OSError, ValueError, IndexError):
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


# --- the run ----------------------------------------------------------------------------------------


@dataclass
class Report:
    settings: Settings
    tool: str
    database: str
    workers: int
    started: datetime
    load_before: tuple[float, float, float]
    latency: str = ""  # what the load tool's p50 and p99 are
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    bare: Result | None = None
    write_ceiling: Result | None = None
    # The same two measured again once Parley's own scenarios are done (see `ceiling_rate`).
    bare_again: Result | None = None
    write_again: Result | None = None
    scenarios: list[Result] = field(default_factory=list)
    small: dict[str, Result] = field(default_factory=dict)
    large: dict[str, Result] = field(default_factory=dict)
    small_counts: dict[str, int] = field(default_factory=dict)
    large_counts: dict[str, int] = field(default_factory=dict)
    grow_seconds: float = 0.0
    analyzed: bool = False

    def results(self) -> list[Result]:
        return [*self.ceilings(), *self.scenarios, *self.large.values()]

    def ceilings(self) -> list[Result]:
        return [r for r in (self.bare, self.write_ceiling, self.bare_again, self.write_again) if r]

    def ceiling(self, result: Result) -> Result | None:
        """What a scenario is compared with: the bare read, or the bare write for what commits."""
        return self.write_ceiling if result.writes else self.bare

    def ceiling_rate(self, result: Result) -> float:
        """The ceiling's req/s: the mean of its measurements before and after Parley's scenarios.

        A shared or throttled machine drifts by tens of percent over minutes; measured only
        before, every ratio carried the drift between the two. The mean of both ends cancels
        a drift that is steady over the run; the table shows both.
        """
        again = self.write_again if result.writes else self.bare_again
        runs = [r.rate for r in (self.ceiling(result), again) if r]
        return sum(runs) / len(runs) if runs else 0.0


ME = "/api/v1/users/me"
SEARCH = "/api/v1/users?q=a"
MESSAGE_SEARCH = "/api/v1/messages/search?q=hello"
# Without the word MESSAGE_SEARCH looks for: the POST scenarios' thousands of messages would
# otherwise be matches by the larger-database run, which would time the matches, not the table.
MESSAGE = json.dumps({"body": "Posted by the benchmark"})
# Every scenario POSTs as fast as it can: production's per-user write limit would answer 429s.
UNLIMITED_WRITES = "1000000/minute"


def rooms_path(settings: Settings) -> str:
    return f"/api/v1/rooms?page_size={settings.rooms}"


@dataclass
class Setup:
    token: str
    history_room: int  # a room with a full page of history
    counts: dict[str, int]

    def history(self) -> str:
        return f"/api/v1/rooms/{self.history_room}/messages?limit={HISTORY_PAGE}"

    def messages(self) -> str:
        return f"/api/v1/rooms/{self.history_room}/messages"


HISTORY_PAGE = 20


def prepare_parley(server: Server, env: dict[str, str], settings: Settings) -> Setup:
    """A user in `rooms` rooms (with `general`), each with an unread message, one with a page more."""
    tag = secrets.token_hex(3)
    user, peer, password = f"alice-{tag}", f"bob-{tag}", secrets.token_urlsafe(16)
    fixture(env, "users", "--user", user, "--peer", peer, f"--password={password}")
    grant = {"grant_type": "password", "client_id": "documentation", "username": user, "password": password}
    status, body = call(
        server.port, "POST", "/auth/oauth2/token", form=grant, source=random_loopback_address()
    )
    token = expect(status, body, 200, "password grant")["access_token"]
    for i in range(settings.rooms - 1):  # `general` is the user's first room
        status, body = call(
            server.port,
            "POST",
            "/api/v1/rooms",
            json_body={"name": f"bench {i}", "members": [peer]},
            token=token,
        )
        expect(status, body, 201, "POST /api/v1/rooms")
    written = fixture(env, "messages", "--user", user, "--peer", peer, "--history", str(HISTORY_PAGE))
    setup = Setup(token, written["history_room_id"], written["counts"])
    status, rooms = call(server.port, "GET", rooms_path(settings), token=token)
    listed = expect(status, rooms, 200, "GET /api/v1/rooms")
    # At least one: in a reused PostgreSQL database `general` also has earlier runs' messages.
    if len(listed) != settings.rooms or any(room["unread_count"] < 1 for room in listed):
        raise SystemExit(f"bench: expected {settings.rooms} rooms with an unread message each")
    page = expect(*call(server.port, "GET", setup.history(), token=token), 200, "GET history")
    if len(page) != HISTORY_PAGE:
        raise SystemExit(f"bench: expected a history page of {HISTORY_PAGE}, got {len(page)}")
    for path in (ME, SEARCH, MESSAGE_SEARCH, "/healthz"):
        expect(*call(server.port, "GET", path, token=token), 200, f"GET {path}")
    return setup


class Listeners:
    """Event streams held open through the fan-out scenario, drained by one thread that counts frames.

    Raw sockets and one selector: the benchmark process must stay cheap beside the server. Each
    `message.created` frame is counted, and its id remembered: the messages the server accepted
    (the warm-up's, and those still in flight when the load stopped, included) times the streams
    is what complete delivery means.
    """

    MESSAGE = re.compile(rb"id: (\d+)\nevent: message\.created\n")

    def __init__(self, port: int, tokens: list[str]) -> None:
        self.frames = 0
        self.refused = 0
        self.messages: set[bytes] = set()
        self._unread: dict[socket.socket, bytes] = {}
        self._stop = threading.Event()
        for token in tokens:
            connection = socket.create_connection((LOOPBACK, port), timeout=15)
            request = (
                f"GET /api/v1/events HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\n"
                f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
            )
            connection.sendall(request.encode())
            connection.setblocking(False)
            self._unread[connection] = b""
        self._thread = threading.Thread(target=self._drain, name="bench-listeners", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        selector = selectors.DefaultSelector()
        for stream in self._unread:
            selector.register(stream, selectors.EVENT_READ)
        first = set(self._unread)
        while not self._stop.is_set():
            for key, _ in selector.select(0.2):
                connection = key.fileobj
                assert isinstance(connection, socket.socket)
                try:
                    data = connection.recv(65536)
                except OSError:
                    data = b""
                if connection in first:
                    first.discard(connection)
                    self.refused += not data.startswith(b"HTTP/1.1 200")
                if not data:
                    selector.unregister(connection)
                    continue
                # Whole frames only (chunked framing aside, a frame ends with a blank line).
                *frames, self._unread[connection] = (self._unread[connection] + data).split(b"\n\n")
                for frame in frames:
                    if found := self.MESSAGE.search(frame + b"\n"):
                        self.frames += 1
                        self.messages.add(found.group(1))
        selector.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for connection in self._unread:
            connection.close()


def run(settings: Settings) -> Report:
    """Start everything, measure, stop everything."""
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp, terminated_cleanly():
        workdir = Path(tmp)
        processes = Processes(workdir)
        try:
            return _run(settings, processes, workdir)
        finally:
            processes.stop_all()


def _run(settings: Settings, processes: Processes, workdir: Path) -> Report:
    tool = pick_tool(settings, workdir)
    url = database_url(settings, workdir)
    env = server_env(settings, url)
    report = Report(
        settings=settings,
        tool=tool.describe(),
        latency=tool.latency,
        database=describe_database(url),
        workers=0,
        started=datetime.now(UTC),
        load_before=os.getloadavg(),
    )
    progress(f"load average {_load(report.load_before)}; tool {tool.describe()}; work directory {workdir}")

    # The bare app first; its master also provisions the fresh database (on_starting), harmlessly.
    bare = start_server(processes, "bare", env, settings, "bench.bare_app:app", "/")
    expect(*call(bare.port, "POST", "/write", json_body={}), 201, "POST /write")
    report.bare, report.write_ceiling = measure_ceilings(tool, settings, bare)
    # The bare app stays up, idle, to be measured again once Parley's own scenarios are done.

    parley = start_server(processes, "parley", env, settings, None, "/readyz")
    setup = prepare_parley(parley, env, settings)
    report.small_counts = setup.counts
    grown = {  # the reads whose cost must not grow with the tables
        "me": (f"`GET {ME}`", Request(ME, token=setup.token)),
        "history": (
            f"history page of {HISTORY_PAGE} (`GET /api/v1/rooms/{{id}}/messages`)",
            Request(setup.history(), token=setup.token),
        ),
        "rooms": (
            f"`GET {rooms_path(settings)}` ({settings.rooms} rooms)",
            Request(rooms_path(settings), token=setup.token),
        ),
        "users": (f"user search (`GET {SEARCH}`)", Request(SEARCH, token=setup.token)),
        "search": (f"message search (`GET {MESSAGE_SEARCH}`)", Request(MESSAGE_SEARCH, token=setup.token)),
    }
    report.scenarios.append(measure(tool, settings, parley, "`GET /healthz`", Request("/healthz")))
    for key, (label, request) in grown.items():
        result = measure(tool, settings, parley, label, request)
        report.scenarios.append(result)
        report.small[key] = result
    post = Request(setup.messages(), "POST", MESSAGE, setup.token)
    sent = measure(tool, settings, parley, "`POST /api/v1/rooms/{id}/messages`", post)
    sent.writes = True
    report.scenarios.append(sent)
    report.bare_again, report.write_again = measure_ceilings(tool, settings, bare, ", again")
    processes.stop(bare.process)
    if settings.listeners:
        report.scenarios.append(measure_fan_out(tool, settings, parley, env))

    if settings.extra_users:
        progress(f"adding {settings.extra_users:,} users with tokens, rooms and messages")
        grew = fixture(env, "grow", "--count", str(settings.extra_users), "--tag", secrets.token_hex(2))
        report.large_counts, report.grow_seconds, report.analyzed = (
            grew["counts"],
            grew["seconds"],
            grew["analyzed"],
        )
        for key, (label, request) in grown.items():
            report.large[key] = measure(tool, settings, parley, f"{label}, larger database", request)
    report.workers = parley.workers()  # counted now: the last ones boot after /readyz first answers
    processes.stop(parley.process)
    report.load_after = os.getloadavg()
    if sum(r.error_count for r in report.results()):
        # The work directory goes with the run; the servers' logs are what explains a failure.
        kept = Path(tempfile.mkdtemp(prefix="parley-bench-logs-"))
        for log in workdir.glob("*.log"):
            shutil.copy2(log, kept / log.name)
        progress(f"some requests failed (see the errors column): the servers' logs are in {kept}")
    return report


def measure_ceilings(
    tool: LoadTool, settings: Settings, bare: Server, again: str = ""
) -> tuple[Result, Result]:
    """The bare app's read and write ceilings."""
    read = measure(tool, settings, bare, f"bare Flask JSON (`GET /`){again}", Request("/"))
    label = f"bare Flask, one INSERT + commit (`POST /write`){again}"
    write = measure(tool, settings, bare, label, Request("/write", "POST", "{}"))
    write.writes = True
    return read, write


def measure_fan_out(tool: LoadTool, settings: Settings, server: Server, env: dict[str, str]) -> Result:
    """POST messages into a room whose `listeners` members each hold an event stream open."""
    progress(f"fan-out: seeding {settings.listeners} listeners and opening their streams")
    # bench/sse_fixtures.py: the users, tokens and room the stream benchmark seeds.
    seeded = fixture(
        env, "--users", str(settings.listeners), "--tag", secrets.token_hex(3), module="bench.sse_fixtures"
    )
    listeners = Listeners(server.port, seeded["tokens"])
    try:
        post = Request(f"/api/v1/rooms/{seeded['room_id']}/messages", "POST", MESSAGE, seeded["sender_token"])
        label = f"`POST` a message to {settings.listeners} open streams (event fan-out)"
        result = measure(tool, settings, server, label, post)
        server.wait_idle()  # deliveries trail the last answers
        result.writes, result.deliveries = True, (len(listeners.messages), listeners.frames)
        if listeners.refused:
            result.errors["stream"] = listeners.refused
    finally:
        listeners.close()
    return result


# --- the report -------------------------------------------------------------------------------------


def command_line(settings: Settings) -> str:
    """The command that repeats this run: the options that differ from the defaults."""
    defaults, words = Settings(), ["python -m bench.http"]
    for name in Settings.__dataclass_fields__:
        value = getattr(settings, name)
        if value == getattr(defaults, name):
            continue
        flag = "--" + name.replace("_", "-")
        if value is True:
            words.append(flag)
        elif name in ("database", "redis_url"):
            words.append(f"{flag} {_hide_password(str(value))}")
        else:
            words.append(f"{flag} {value}")
    return " ".join(words)


def _hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _revision(checkout: Path = ROOT) -> str:
    """The commit measured, `-dirty` when the work tree has changes."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"],  # noqa: S607  (git from PATH, on purpose)
            cwd=checkout,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if described.returncode == 0:
            return described.stdout.strip()
    return "unknown revision"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"


def _cpu(result: Result, ceiling: Result | None = None) -> str:
    """CPU per request, and how many times its ceiling's, which holds steadier than req/s."""
    if result.cpu_ms is None:
        return "?"
    if ceiling is None or ceiling is result or not ceiling.cpu_ms:
        return f"{result.cpu_ms:.2f} ms"
    return f"{result.cpu_ms:.2f} ms ({result.cpu_ms / ceiling.cpu_ms:.1f} x {_ceiling_name(ceiling)})"


def _ceiling_name(ceiling: Result) -> str:
    return "write" if ceiling.writes else "bare"


def _ratio(report: Report, result: Result) -> float:
    rate = report.ceiling_rate(result)
    return result.rate / rate if rate else 0.0


def _ratio_cell(report: Report, result: Result) -> str:
    if any(result is r for r in (report.bare, report.bare_again)):
        return "1.00 (read ceiling)"
    if any(result is r for r in (report.write_ceiling, report.write_again)):
        return "1.00 (write ceiling)"
    ceiling = report.ceiling(result)
    return f"{_ratio(report, result):.2f} of {_ceiling_name(ceiling)}" if ceiling else "-"


def _others(report: Report) -> str:
    """How busy the rest of the machine kept the CPUs while the benchmark measured."""
    assert report.bare is not None
    runs = [r for r in report.results() if r.other_cpus is not None]
    if not runs:
        return ""
    busiest = max(runs, key=lambda r: r.other_cpus or 0.0)
    mean = sum(r.other_cpus or 0.0 for r in runs) / len(runs)
    return (
        f" Other processes kept {mean:.2f} CPUs busy on average during the measured runs "
        f"({busiest.other_cpus:.2f} at most, during {busiest.label})."
    )


def _errors(result: Result) -> str:
    if not result.error_count:
        return "0"
    return f"{result.error_count:,} (" + ", ".join(f"{k}: {v:,}" for k, v in result.errors.items() if v) + ")"


def _redis(settings: Settings) -> str:
    return f"`{_hide_password(settings.redis_url)}`" if settings.redis_url else "none"


def _load(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


# The targets (ratios on SQLite, one run): the scenario's key and the least ratio.
TARGETS = {"me": 0.5, "history": 0.3, "rooms": 0.15, "post": 0.3}


def render(report: Report) -> str:
    s, bare = report.settings, report.bare
    assert bare is not None
    workers = f"{report.workers} {s.worker_class or 'gevent'} workers" + (
        " (`--workers`)" if s.workers else " (gunicorn.conf.py's default for the database)"
    )
    if s.worker_class:
        workers += f" (`--worker-class {s.worker_class}` instead of gunicorn.conf.py's gevent)"
    lines = [
        f"Run on {report.started:%Y-%m-%d %H:%M} UTC by `{command_line(s)}`, Parley at `{_revision()}`.",
        "",
        f"- Machine: {os.cpu_count()} CPUs (`nproc` {len(os.sched_getaffinity(0))}), {_cpu_model()}, "
        f"Linux {platform.release()}; Python {platform.python_version()}; load average (1/5/15 min) "
        f"{_load(report.load_before)} before, {_load(report.load_after)} after (with the benchmark's own "
        f"processes).{_others(report)}",
        f"- Server: gunicorn {_version('gunicorn')} with gunicorn.conf.py, {workers}, "
        f"gunicorn.conf.py's worker_connections; Flask {_version('flask')}, gevent {_version('gevent')}; "
        f"`PARLEY_CONFIG=production`, `LOG_LEVEL={s.log_level}` "
        "(Parley logs every request; the bare app does not), "
        f"`PARLEY_USER_WRITE_RATE_LIMIT={UNLIMITED_WRITES}` (writes are still counted, never refused).",
        f"- Database: {report.database}; Redis: {_redis(s)}.",
        f"- Load: {report.tool}; {s.duration} s per scenario after a {s.warmup} s warm-up, on 127.0.0.1, "
        "closed loop (each connection waits for its answer), so the client shares the CPUs with the server."
        + (f" {report.latency}" if report.latency else ""),
        "",
        "Reads are compared with the bare app's `GET /` (the read ceiling), writes with its `POST /write`, "
        "one INSERT and its commit on the same database with Parley's pool and SQLite pragmas (the write "
        "ceiling). Both are measured first and again after Parley's own scenarios (before the fan-out); "
        "each ratio is to the mean of the two. Server CPU is the gunicorn master's and workers' CPU time "
        "over the measured run divided "
        "by the requests answered (PostgreSQL's and Redis's own processes are not in it); on a shared "
        "machine it varies less between runs than req/s does.",
        "",
        "| scenario | req/s | ratio | p50 | p99 | server CPU / request | errors |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for result in [*report.ceilings(), *report.scenarios]:
        lines.append(
            f"| {result.label} | {result.rate:,.0f} | {_ratio_cell(report, result)} | "
            f"{_ms(result.p50_ms)} | {_ms(result.p99_ms)} | {_cpu(result, report.ceiling(result))} | "
            f"{_errors(result)} |"
        )
    fan_out = next((r for r in report.scenarios if r.deliveries is not None), None)
    if fan_out is not None and fan_out.deliveries and fan_out.deliveries[0]:
        messages, frames = fan_out.deliveries
        expected = messages * s.listeners
        lines += [
            "",
            f"Fan-out: {messages:,} messages (those any stream heard of, warm-up included) reached the "
            f"{s.listeners} streams as {frames:,} `message.created` frames: {frames / expected:.1%} of the "
            f"{expected:,} that complete delivery makes (each stream, each message once).",
        ]
    lines += ["", *_targets(report)]
    if report.large:
        lines += ["", *_growth(report)]
    return "\n".join(lines) + "\n"


def _target(report: Report, result: Result) -> float | None:
    """The least ratio the issue asks of this scenario, if any."""
    if result.writes:
        return TARGETS["post"] if result.deliveries is None else None
    key = next((k for k, r in report.small.items() if r is result), None)
    return TARGETS.get(key) if key else None


def _targets(report: Report) -> list[str]:
    lines = [
        "Targets (docs/benchmarks.md#targets), this run:",
        "",
        "| scenario | target | ratio | met |",
        "|---|---:|---:|---|",
    ]
    for result in report.scenarios:
        least = _target(report, result)
        if least is None:
            continue
        ratio, ceiling = _ratio(report, result), _ceiling_name(report.ceiling(result) or result)
        met = "yes" if ratio >= least else "no"
        # Three decimals: two printed a ratio of 0.495 as "0.50", beside "no".
        lines.append(f"| {result.label} | ≥ {least:.2f} of {ceiling} | {ratio:.3f} | {met} |")
    return lines


def _growth(report: Report) -> list[str]:
    s, small, large = report.settings, report.small_counts, report.large_counts
    sizes = ", ".join(f"{name} {small[name]:,} → {large[name]:,}" for name in small)
    lines = [
        f"Table size: the same requests, same user and token, after {s.extra_users:,} more users "
        "were added (each in `general`, with a token and a private room with one message; "
        f"{report.grow_seconds:.0f} s of bulk inserts{', then ANALYZE' if report.analyzed else ''}). "
        f"Rows: {sizes}.",
        "",
        "| request | req/s small → large | large / small | p50 | p99 | server CPU / request |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, after in report.large.items():
        before = report.small[key]
        ratio = f"{after.rate / before.rate:.2f}" if before.rate else "-"
        lines.append(
            f"| {before.label} | {before.rate:,.0f} → {after.rate:,.0f} | {ratio} | "
            f"{_ms(before.p50_ms)} → {_ms(after.p50_ms)} | {_ms(before.p99_ms)} → {_ms(after.p99_ms)} | "
            f"{_cpu(before)} → {_cpu(after)} |"
        )
    return lines


def _engine(report: Report) -> str:
    name = "SQLite" if report.settings.database == "sqlite" else "PostgreSQL"
    return name + (" + Redis" if report.settings.redis_url else "")


def plot(reports: list[Report]) -> str:
    """A bar chart of every scenario's ratio to its ceiling, one bar per database, targets marked.

    Plain SVG written here: no plotting library for a dozen bars.
    """
    colours = ["#3b6ea8", "#d08a2e", "#5a9a5a"]
    first = reports[0]
    labels = [re.sub(r"[`<>&]", "", scenario.label) for scenario in first.scenarios]
    # About 6.6 pixels a character at 12 px sans-serif: the longest label fits left of the bars.
    row, left, width = 18 * len(reports) + 10, 16 + round(6.6 * max(map(len, labels))), 420
    bottom = 30 + row * len(first.scenarios)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 40}" '
        f'height="{bottom + 30 + 20 * len(reports)}" font-family="sans-serif" font-size="12">',
        f'<text x="{left}" y="16">ratio to the ceiling: the bare read, or the bare write for POSTs</text>',
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = left + tick * width
        out.append(f'<line x1="{x}" y1="24" x2="{x}" y2="{bottom}" stroke="#ddd"/>')
        out.append(f'<text x="{x}" y="{bottom + 14}" text-anchor="middle">{tick:g}</text>')
    for i, (scenario, text) in enumerate(zip(first.scenarios, labels, strict=True)):
        top = 30 + i * row
        out.append(f'<text x="{left - 6}" y="{top + row / 2 + 4}" text-anchor="end">{text}</text>')
        for j, report in enumerate(reports[: len(colours)]):
            if i < len(report.scenarios):
                ratio, y = min(_ratio(report, report.scenarios[i]), 1.2), top + j * 18
                out.append(
                    f'<rect x="{left}" y="{y}" width="{ratio * width:.1f}" height="16" fill="{colours[j]}"/>'
                )
                out.append(f'<text x="{left + ratio * width + 4:.1f}" y="{y + 12}">{ratio:.2f}</text>')
        least = _target(first, scenario)
        if least is not None:
            x, end = left + least * width, top + row - 8
            out.append(f'<line x1="{x}" y1="{top - 2}" x2="{x}" y2="{end}" stroke="#c00" stroke-width="2"/>')
    for j, report in enumerate(reports[: len(colours)]):
        y = bottom + 34 + 20 * j
        out.append(f'<rect x="{left}" y="{y - 10}" width="12" height="12" fill="{colours[j]}"/>')
        out.append(
            f'<text x="{left + 18}" y="{y}">{_engine(report)}, {report.started:%Y-%m-%d %H:%M} UTC</text>'
        )
    out += [f'<text x="{left + 300}" y="{bottom + 34}" fill="#c00">| target</text>', "</svg>"]
    return "\n".join(out) + "\n"


def write_report(markdown: str, path: Path = REPORT) -> None:
    """Replace what lies between the markers; the prose around them is kept."""
    text = path.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"bench: {path} lacks the {BEGIN} / {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{markdown}{END}{tail}")


# --- command line -------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    defaults = Settings()
    p = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=int, default=defaults.duration, help="seconds per scenario (default 6)")
    p.add_argument("--warmup", type=int, default=defaults.warmup, help="seconds of warm-up before each (2)")
    p.add_argument("--connections", type=int, default=defaults.connections, help="open connections (64)")
    p.add_argument(
        "--threads", type=int, default=defaults.threads, help="wrk threads or client processes (2)"
    )
    p.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py's)")
    p.add_argument(
        "--worker-class", default=None, help="gunicorn -k, to compare (default: gunicorn.conf.py's gevent)"
    )
    p.add_argument(
        "--database",
        default=defaults.database,
        help="`sqlite` (a fresh file) or a PostgreSQL URL (throwaway)",
    )
    p.add_argument("--redis-url", default=None, help="Redis for rate limits and events (default: none)")
    p.add_argument(
        "--postgres",
        default=None,
        help="then run everything again on this PostgreSQL database (throwaway), with --redis",
    )
    p.add_argument("--redis", default=None, help="Redis for the --postgres run")
    p.add_argument(
        "--listeners",
        type=int,
        default=defaults.listeners,
        help="open event streams in the fan-out scenario (100; 0 skips it)",
    )
    p.add_argument(
        "--extra-users", type=int, default=defaults.extra_users, help="rows added for the table-size check"
    )
    p.add_argument("--tool", choices=["auto", "wrk", "python"], default=defaults.tool, help="load generator")
    p.add_argument(
        "--log-level", default=defaults.log_level, help="Parley's LOG_LEVEL (INFO, as in production)"
    )
    p.add_argument("--write", action="store_true", help=f"also rewrite {REPORT.relative_to(ROOT)}")
    return p


def settings_from(args: argparse.Namespace) -> Settings:
    settings = Settings(
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        threads=args.threads,
        workers=args.workers,
        worker_class=args.worker_class,
        database=args.database,
        redis_url=args.redis_url,
        extra_users=args.extra_users,
        listeners=args.listeners,
        tool=args.tool,
        log_level=args.log_level,
        write=args.write,
    )
    check(settings)
    return settings


def check(settings: Settings) -> None:
    """Every load loop is bounded: refuse settings that would make a run unbounded or pointless."""
    problems = []
    if not 1 <= settings.duration <= 600 or not 0 <= settings.warmup <= 60:
        problems.append("--duration must be 1..600 s and --warmup 0..60 s")
    if not 1 <= settings.threads <= settings.connections <= 10_000:
        problems.append("need 1 <= --threads <= --connections <= 10000")
    if not 0 <= settings.extra_users <= 1_000_000:
        problems.append("--extra-users must be 0..1000000")
    if not 0 <= settings.listeners <= 1000:
        problems.append("--listeners must be 0..1000")
    if settings.worker_class not in (None, "sync", "gthread", "gevent", "eventlet"):
        problems.append("--worker-class is sync, gthread, gevent or eventlet")
    if settings.database != "sqlite" and not settings.database.startswith("postgresql"):
        problems.append("--database is `sqlite` or a postgresql:// URL")
    for url in (settings.database, settings.redis_url or ""):
        host = re.match(r"^[a-z+]+://(?:[^@/]*@)?(\[[^\]]+\]|[^:/?]*)", url)
        if host and host.group(1) not in ("", "127.0.0.1", "localhost", "[::1]"):
            problems.append(f"benchmarks run on loopback only, not {host.group(1)}")
    if problems:
        raise SystemExit("bench: " + "; ".join(problems))


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    runs = [settings_from(args)]
    if args.postgres:
        runs.append(replace(runs[0], database=args.postgres, redis_url=args.redis))
        check(runs[1])
    reports = [run(settings) for settings in runs]
    markdown = (
        "\n".join(f"### {_engine(r)}\n\n{render(r)}" for r in reports)
        if args.postgres
        else render(reports[0])
    )
    markdown += f"\n![Ratios to the ceilings, one bar per scenario and database]({PLOT.name})\n"
    print(markdown, end="")
    if args.write:
        write_report(markdown)
        PLOT.write_text(plot(reports))
        progress(f"wrote {REPORT.relative_to(ROOT)} and {PLOT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
