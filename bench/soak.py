"""A bounded soak: many clients sending and reading at once, then every acknowledged message checked.

    python -m bench.soak                                   # 200 clients, 60 s, SQLite
    python -m bench.soak --postgres postgresql://…/scratch --redis redis://…/5
    python -m bench.soak --checkout /tmp/older --label before --write

The server is production's command, `gunicorn -c gunicorn.conf.py` (gevent workers, production
configuration, a fresh SQLite file unless --postgres names a database), started as
bench/http.py starts it. `--clients` users, each with an access token, share one private room
(bench/sse_fixtures.py seeds them). Each client holds one keep-alive connection and, until the
deadline, sends a message (a body unique to the run) and reads the room's newest page of 20,
each as soon as the last answer is in: closed loop, no pause, so the server is saturated and
the latencies say how long a client waits then.

Afterwards the room's whole history is read back: every message the server acknowledged (201)
must be there exactly once. The report says when the 5xx answers came (a burst at the start, or
throughout) and, on PostgreSQL, what the server's connections waited for (`BackendSampler`).
The run fails (exit status 1) on any 5xx, any acknowledged message missing or doubled, or any
request that got no answer. `--checkout` runs the server from another
checkout of Parley (a `git worktree` of an older commit), for a before/after comparison with the
same client; `--write` puts the report into docs/benchmarks.md under "Soak", keyed by `--label`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.http import (
    REPORT,
    Settings,
    _cpu_model,
    _revision,
    call,
    database_url,
    describe_database,
    expect,
    fixture,
    machine_busy_seconds,
    percentile,
    progress,
    server_env,
    start_server,
    terminated_cleanly,
)
from bench.load import build_request, read_response
from tests.processes import LOOPBACK, ROOT, Processes

PAGE = 20  # the newest page a client reads, as a chat client opening the room does


@dataclass(frozen=True)
class Plan:
    clients: int = 200
    duration: float = 60
    timeout: float = 60  # per request, as gunicorn and nginx: waiting longer counts as unanswered
    database: str = "sqlite"
    redis_url: str | None = None
    workers: int | None = None
    checkout: Path = ROOT
    label: str = "current"
    settings: tuple[str, ...] = ()  # NAME=VALUE for the server, over production's (--set)


@dataclass
class Kind:
    """What one kind of request (sends, reads) got over the run."""

    latencies_us: list[int] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    unanswered: Counter[str] = field(default_factory=Counter)  # by why: timeout, closed
    retried: int = 0  # sent again after the connection ended unanswered
    failed_at: list[float] = field(default_factory=list)  # seconds into the run of each 5xx answer

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def ms(self, fraction: float) -> float:
        return percentile(sorted(self.latencies_us), fraction) / 1000

    def when_failed(self) -> str:
        """When the 5xx answers came, to tell a burst (the start) from a steady fault."""
        if not self.failed_at:
            return ""
        return f" (between {min(self.failed_at):.0f} s and {max(self.failed_at):.0f} s)"


@dataclass
class Outcome:
    sends: Kind = field(default_factory=Kind)
    reads: Kind = field(default_factory=Kind)
    acknowledged: list[str] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu: float | None = None
    other_cpus: float | None = None  # CPUs kept busy by everything but the server and this client
    history: Counter[str] = field(default_factory=Counter)  # soak bodies found, with how often
    backends: dict[str, float] | None = None  # PostgreSQL: the server's connections, by what they do

    @property
    def missing(self) -> int:
        return sum(1 for body in self.acknowledged if self.history[body] == 0)

    @property
    def doubled(self) -> int:
        return sum(1 for n in self.history.values() if n > 1)

    @property
    def failed(self) -> bool:
        server_errors = self.sends.server_errors + self.reads.server_errors
        return bool(
            server_errors or self.missing or self.doubled or self.sends.unanswered or self.reads.unanswered
        )


async def exchange(
    connection: list[Any], port: int, request: bytes, timeout: float
) -> tuple[int | None, float, str]:
    """One request on the client's keep-alive connection (`[reader, writer]`, reopened when closed).

    Returns the status (None: no answer), the seconds it took, and why there was no answer:
    `timeout`, or `closed` when the connection ended first (refused, reset, or closed by the
    server as the request went out on it).
    """
    started = time.perf_counter()
    failure = ""
    try:
        async with asyncio.timeout(timeout):
            if not connection:
                connection[:] = await asyncio.open_connection(LOOPBACK, port)
            reader, writer = connection
            started = time.perf_counter()
            writer.write(request)
            status, close = await read_response(reader)
    except TimeoutError:
        status, close, failure = None, True, "timeout"
    except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
        status, close, failure = None, True, "closed"
    elapsed = time.perf_counter() - started
    if close and connection:
        connection[1].close()
        connection.clear()
    return status, elapsed, failure


async def client(
    index: int, token: str, room_id: int, port: int, plan: Plan, tag: str, deadline: float, outcome: Outcome
) -> None:
    """Send, read, repeat. A request whose connection ended unanswered is sent once more on a new
    one, as a client would; a send carries its body as `client_msg_id`, so that is safe."""
    auth = [f"Authorization: Bearer {token}"]
    path = f"/api/v1/rooms/{room_id}/messages"
    read = build_request(LOOPBACK, port, f"{path}?limit={PAGE}", auth)
    connection: list[Any] = []
    sent = 0
    while time.monotonic() < deadline:
        body = f"soak {tag} {index} {sent}"
        sent += 1
        payload = json.dumps({"body": body, "client_msg_id": body})
        send = build_request(LOOPBACK, port, path, auth, "POST", payload)
        for kind, request in ((outcome.sends, send), (outcome.reads, read)):
            status, elapsed, failure = await exchange(connection, port, request, plan.timeout)
            if failure == "closed":
                kind.retried += 1
                status, elapsed, failure = await exchange(connection, port, request, plan.timeout)
            if status is None:
                kind.unanswered[failure] += 1
                continue
            kind.statuses[status] += 1
            if status >= 500:
                kind.failed_at.append(time.monotonic() - deadline + plan.duration)
            kind.latencies_us.append(round(elapsed * 1_000_000))
            if kind is outcome.sends and status in (200, 201):  # 200: the retry of a send that got in
                outcome.acknowledged.append(body)
    if connection:
        connection[1].close()


async def load(plan: Plan, port: int, room_id: int, tokens: list[str], tag: str) -> Outcome:
    outcome = Outcome()
    started = time.monotonic()
    deadline = started + plan.duration
    async with asyncio.timeout(plan.duration + 2 * plan.timeout + 10):  # however the server behaves
        await asyncio.gather(
            *(client(i, token, room_id, port, plan, tag, deadline, outcome) for i, token in enumerate(tokens))
        )
    outcome.seconds = time.monotonic() - started
    return outcome


def read_history(port: int, room_id: int, token: str, tag: str) -> Counter[str]:
    """The room's whole history, oldest first, 100 at a time: how often each of this run's bodies is there."""
    found: Counter[str] = Counter()
    after = 0
    while True:
        path = f"/api/v1/rooms/{room_id}/messages?after={after}&limit=100"
        page = expect(*call(port, "GET", path, token=token, timeout=60), 200, "reading the history back")
        if not page:
            return found
        found.update(m["body"] for m in page if m["body"].startswith(f"soak {tag} "))
        after = page[-1]["id"]


# The server's connections by what they wait for (a lock, by kind) or do, one row per kind.
BACKENDS = """
SELECT coalesce(waiting.locktype || ' lock', activity.state) AS doing, count(*) AS n
FROM pg_stat_activity AS activity
LEFT JOIN pg_locks AS waiting ON waiting.pid = activity.pid AND NOT waiting.granted
WHERE activity.datname = current_database() AND activity.pid <> pg_backend_pid()
  AND activity.backend_type = 'client backend'
GROUP BY 1
"""


class BackendSampler(threading.Thread):
    """Where the server's PostgreSQL connections are, every 100 ms of the load: what proves where
    requests wait (`tuple`/`transactionid` lock: a row lock, such as a room's; `advisory` lock:
    the outbox's ordering lock; `idle in transaction`: waiting for the worker between queries)."""

    def __init__(self, url: str) -> None:
        super().__init__(name="soak-backends", daemon=True)
        self.url = url
        self.done = threading.Event()
        self.seen: Counter[str] = Counter()
        self.samples = 0

    def run(self) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        engine = create_engine(self.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                while not self.done.wait(0.1):
                    self.seen.update({doing: n for doing, n in connection.execute(text(BACKENDS))})
                    self.samples += 1
        finally:
            engine.dispose()

    def averages(self) -> dict[str, float]:
        self.done.set()
        self.join()
        return {doing: n / self.samples for doing, n in self.seen.most_common()} if self.samples else {}


def run(plan: Plan) -> tuple[str, Outcome]:
    with tempfile.TemporaryDirectory(prefix="parley-soak-") as directory, terminated_cleanly():
        processes = Processes(Path(directory))
        try:
            return _run(plan, processes, Path(directory))
        finally:
            processes.stop_all()


def _run(plan: Plan, processes: Processes, workdir: Path) -> tuple[str, Outcome]:
    settings = Settings(database=plan.database, redis_url=plan.redis_url, workers=plan.workers)
    url = database_url(settings, workdir)
    env = server_env(settings, url) | dict(setting.split("=", 1) for setting in plan.settings)
    progress(f"starting Parley from {plan.checkout}")
    server = start_server(processes, "parley", env, settings, None, "/readyz", plan.checkout)
    tag = secrets.token_hex(3)
    seeded = fixture(
        env, "--users", str(plan.clients), "--tag", tag, module="bench.sse_fixtures", cwd=plan.checkout
    )
    progress(f"{plan.clients} clients for {plan.duration:g} s")
    cpu_before, busy_before, own_before = server.cpu_seconds(), machine_busy_seconds(), time.process_time()
    sampler = BackendSampler(url) if url.startswith("postgresql") else None
    if sampler:
        sampler.start()
    outcome = asyncio.run(load(plan, server.port, seeded["room_id"], seeded["tokens"], tag))
    if sampler:
        outcome.backends = sampler.averages()
    cpu_after, busy_after, own = (
        server.cpu_seconds(),
        machine_busy_seconds(),
        time.process_time() - own_before,
    )
    if cpu_before is not None and cpu_after is not None:
        outcome.server_cpu = cpu_after - cpu_before
        if busy_before is not None and busy_after is not None:
            others = busy_after - busy_before - outcome.server_cpu - own
            outcome.other_cpus = max(0.0, others / outcome.seconds)
    server.wait_idle()
    outcome.history = read_history(server.port, seeded["room_id"], seeded["tokens"][0], tag)
    # The log goes with the temporary directory: say what the server warned about, each once.
    lines = server.log.read_text(errors="replace").splitlines()
    for said in dict.fromkeys(
        line.split("] ", 1)[-1] for line in lines if "WARNING" in line or "ERROR" in line
    ):
        progress(f"server: {said[:300]}")
    return render(plan, outcome, describe_database(url), server.workers()), outcome


# --- the report -----------------------------------------------------------------------------------


def _machine() -> str:
    return f"{os.cpu_count()} CPUs ({_cpu_model()}), Python {platform.python_version()}"


def command_line(plan: Plan) -> str:
    words = ["python -m bench.soak", f"--clients {plan.clients}", f"--duration {plan.duration:g}"]
    if plan.database != "sqlite":
        words.append("--postgres <throwaway database URL>")
    if plan.redis_url:
        words.append("--redis <Redis URL>")
    if plan.workers:
        words.append(f"--workers {plan.workers}")
    words += [f"--set {setting}" for setting in plan.settings]
    if plan.checkout != ROOT:
        words.append("--checkout <worktree of that commit>")
    return " ".join([*words, f"--label {plan.label}"])


def render(plan: Plan, outcome: Outcome, database: str, workers: int) -> str:
    answered = len(outcome.sends.latencies_us) + len(outcome.reads.latencies_us)
    cpu = f"{outcome.server_cpu * 1000 / answered:.1f} ms" if outcome.server_cpu and answered else "?"
    others = f"{outcome.other_cpus:.1f}" if outcome.other_cpus is not None else "?"
    lines = [
        f"#### {plan.label}: Parley at `{_revision(plan.checkout)}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"`{command_line(plan)}`: {plan.clients} clients, {outcome.seconds:.0f} s; gunicorn with "
        f"{workers} gevent workers; {database}; {_machine()}; server CPU {cpu} per answered request; "
        f"other processes kept {others} CPUs busy meanwhile.",
        "",
        "| | answered | per second | p50 | p99 | 5xx | sent again | no answer |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, kind in (("sends", outcome.sends), ("reads", outcome.reads)):
        count = len(kind.latencies_us)
        lines.append(
            f"| {name} | {count:,} | {count / outcome.seconds:,.0f} | {kind.ms(0.5):,.0f} ms | "
            f"{kind.ms(0.99):,.0f} ms | {kind.server_errors}{kind.when_failed()} | {kind.retried} | "
            f"{', '.join(f'{n} {why}' for why, n in kind.unanswered.items()) or 0} |"
        )
    statuses = outcome.sends.statuses + outcome.reads.statuses
    unusual = {status: n for status, n in statuses.items() if status not in (200, 201)}
    lines += [
        "",
        f"Acknowledged messages: {len(outcome.acknowledged):,}; missing from the history: {outcome.missing}; "
        f"there more than once: {outcome.doubled}. Other statuses: {unusual or 'none'}. "
        f"Verdict: **{'FAILED' if outcome.failed else 'passed'}**.",
    ]
    if outcome.backends is not None:
        doing = ", ".join(f"{n:.1f} {what}" for what, n in outcome.backends.items()) or "none seen"
        lines += ["", f"The server's PostgreSQL connections during the load, on average: {doing}."]
    return "\n".join(lines) + "\n"


def write_report(markdown: str, label: str, path: Path = REPORT) -> None:
    """Between this label's markers in the Soak section, added at that section's end the first time."""
    text = path.read_text()
    begin, end = f"<!-- soak:{label}:begin -->", f"<!-- soak:{label}:end -->"
    if begin not in text:
        if "<!-- soak:end -->" not in text:
            raise SystemExit(f"soak: {path} has no Soak section (<!-- soak:end -->)")
        text = text.replace("<!-- soak:end -->", f"{begin}\n{end}\n<!-- soak:end -->")
    head, rest = text.split(begin, 1)
    path.write_text(f"{head}{begin}\n{markdown}{end}{rest.split(end, 1)[1]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60, help="seconds of load")
    parser.add_argument("--timeout", type=float, default=60, help="seconds a request may take")
    parser.add_argument("--postgres", help="a throwaway PostgreSQL database (default: a fresh SQLite file)")
    parser.add_argument("--redis", help="Redis for rate limits and events, as in a multi-instance deployment")
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY (default: gunicorn.conf.py's)")
    parser.add_argument("--checkout", type=Path, default=ROOT, help="run the server from this checkout")
    parser.add_argument("--label", default="current", help="names the run in the report")
    parser.add_argument("--set", action="append", default=[], help="NAME=VALUE for the server, repeatable")
    parser.add_argument("--write", action="store_true", help="put the report into docs/benchmarks.md")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 3600 or not 1 <= args.clients <= 5000:
        parser.error("need 0 < duration <= 3600 and 1 <= clients <= 5000")
    if not all("=" in setting for setting in args.set):
        parser.error("--set takes NAME=VALUE")
    plan = Plan(
        clients=args.clients,
        duration=args.duration,
        timeout=args.timeout,
        database=args.postgres or "sqlite",
        redis_url=args.redis,
        workers=args.workers,
        checkout=args.checkout.resolve(),
        label=args.label,
        settings=tuple(args.set),
    )
    markdown, outcome = run(plan)
    sys.stdout.write(markdown)
    if args.write:
        write_report(markdown, plan.label)
    sys.exit(1 if outcome.failed else 0)


if __name__ == "__main__":
    main()
