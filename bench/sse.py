"""Event-stream benchmark: delivery latency and lost events with many SSE streams open on one machine.

    python -m bench.sse [--streams 1000] [--messages 100] [--rate 10] [--mode local|redis|both] [--runs 1]
    invoke bench-sse --mode both --runs 2

For each mode it starts, on 127.0.0.1, Parley as production runs it (`gunicorn -c gunicorn.conf.py`,
a fresh SQLite file): `local` is one worker with the in-process broker (without Redis another
worker would only see a commit at its next outbox poll, a second later), `redis` is two workers
(--redis-workers) and a redis-server of its own, so that an event posted to one worker reaches the
other's streams through pub/sub. Users, tokens and the private rooms holding them (one by default,
--rooms spreads the users over more) are seeded directly (bench/sse_fixtures.py: sign-up and the
token endpoint are rate-limited per address). One asyncio
process then opens every stream (`GET /api/v1/events`), waits for the last presence announcement
(each worker has told the streams of each room every user of it coming online) and then for 2 s
without events, lets the streams idle past one keep-alive (--idle), waits for the rest of the machine to go
quiet, and a separate sender process (bench/sse_send.py) posts --warmup unmeasured messages and
then --messages more at a steady rate, round robin over the rooms, each stamped with the monotonic
clock just before its POST.
Latency is the receiving stream's clock reading when the bytes arrive minus that stamp; lost is
every (message, stream of its room) pair that never arrived (the client does not reconnect, so a
stream the server ends shows up as lost events).

10,000 streams (issue 17) hold the same 10,000 deliveries a second as the 1,000-stream run:
`--streams 10000 --rate 1` (one room of 10,000), or `--streams 10000 --rooms 10` (ten rooms of
1,000, each message to one of them). The bench lifts its open-file limit to the hard one, which
the server processes inherit, and gives each worker room for every stream.

The Markdown report goes to stdout (progress to stderr); --json PATH also writes every figure,
with a per-message series (send time, POST round trip, first, median and last delivery) for lining
stalls up with the server's log. The servers' logs are kept when events were lost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.http import (
    LOOPBACK,
    ROOT,
    Processes,
    Server,
    Settings,
    _cpu_model,
    _revision,
    _version,
    database_url,
    free_port,
    machine_busy_seconds,
    percentile,
    progress,
    server_env,
    start_server,
    terminated_cleanly,
)
from bench.sse_send import parse_body

MODES = {"local": (1, False), "redis": (2, True)}  # workers, with Redis
TARGET_CONNECT_CPU_SECONDS = 2.0  # server CPU for opening every stream and the presence it causes
TARGET_PRESENCE_FRAMES = 50  # per stream, while every stream opens


def target_p99_ms(streams: int) -> int:
    """Delivery p99: under 100 ms with 1,000 streams (issue 13), at most 200 ms with 10,000 (issue 17)."""
    return 100 if streams <= 1000 else 200


@dataclass(frozen=True)
class Options:
    streams: int = 1000
    messages: int = 100
    rate: float = 10.0  # messages per second
    warmup: int = 10  # messages sent first, at the same rate, and left out of the figures
    devices: int = 1  # streams per user: 1000 streams are 1000 users by default
    rooms: int = 1  # user i is in room i % rooms; messages go to the rooms in turn
    mode: str = "both"
    runs: int = 1
    redis_workers: int = 2
    connect_concurrency: int = 100  # streams being opened at once
    quiet: float = 2.0  # seconds without events before the first message (presence settles)
    # Then idle this long, past the server's 15 s keep-alive: streams in production idle between
    # messages, and a keep-alive (with Redis, a presence renewal) is part of what they go through.
    idle: float = 20.0
    connect_timeout: float = 600.0  # for opening every stream and letting them settle
    drain: float = 10.0  # at most this long after the last POST for stragglers
    # Before sending, wait (at most this long) until other processes use under `busy` CPUs.
    machine_wait: float = 120.0
    busy: float = 0.3
    log_level: str = "INFO"  # production's
    json_path: str | None = None


@dataclass
class Outcome:
    """One run of one mode: what the report and the JSON show."""

    mode: str
    workers: int
    streams: int
    messages: int
    posted: int
    rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    lost: int
    duplicates: int
    out_of_order: int
    dropped_streams: int
    connect_seconds: float
    connect_p99_ms: float
    settle_seconds: float
    events_while_connecting: int
    connect_server_cpu: float | None  # server CPU seconds from the first stream opened to quiet
    presence_frames_max: int  # `presence.updated` frames one stream received, at most
    presence_frames_mean: float
    post_p50_ms: float
    post_p99_ms: float
    first_p50_ms: float  # per message, its earliest delivery
    last_p50_ms: float  # per message, its latest delivery
    last_p99_ms: float
    client_cpus: float  # CPUs used by this process (the receivers) while messages flowed
    sender_cpus: float
    server_cpus: float | None
    other_cpus: float | None
    loop_lag_p99_ms: float
    loop_lag_max_ms: float
    server_us_per_delivery: float | None  # server CPU over the sending phase / deliveries
    worker_streams: list[int] = field(default_factory=list)
    worker_rss_mb: list[float] = field(default_factory=list)
    worker_p99_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Per message: when it was sent (monotonic s), its POST round trip, earliest, median and latest
    # delivery (ms); in the JSON only, to line stalls up with server logs.
    series: list[dict[str, float]] = field(default_factory=list)
    # When the server ended streams, in seconds after the first message (negative: before it).
    drops: list[float] = field(default_factory=list)
    logs: str | None = None  # where the server's log was kept, when something went wrong


# --- one stream -----------------------------------------------------------------------------------


class Stream(asyncio.Protocol):
    """One `GET /api/v1/events`, parsed as bytes arrive; the arrival time stamps every frame in them."""

    def __init__(self, receiver: Receiver, index: int) -> None:
        self.receiver = receiver
        self.index = index
        self.transport: asyncio.Transport | None = None
        self.opened = asyncio.get_running_loop().create_future()
        self.ended: float | None = None  # when the server (not the benchmark) ended the stream
        self.port = 0
        self._head: bytearray | None = bytearray()  # None once the response head is parsed
        self._chunked = False
        self._raw = bytearray()  # body bytes still chunk-encoded
        self._left = 0  # bytes of the current chunk's data still to come
        self._skip = 0  # bytes of the CRLF after a chunk still to skip
        self._text = bytearray()  # decoded body not yet split into frames
        self.seen = bytearray(receiver.messages)
        # Token i is user i % users' (bench/sse_fixtures.py), user u is in room u % rooms.
        self.room = index % receiver.users % len(receiver.room_ids)
        self.highest = -1
        self.duplicates = 0
        self.out_of_order = 0
        self.presence_frames = 0  # `presence.updated` frames (each a batch since coalescing)
        self.told: list[frozenset[int]] = []  # per presence frame, the users it said are online

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        request = (
            f"GET /api/v1/events HTTP/1.1\r\nHost: {LOOPBACK}\r\nAccept: text/event-stream\r\n"
            f"Authorization: Bearer {self.receiver.tokens[self.index]}\r\n\r\n"
        )
        transport.write(request.encode())

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.receiver.closing:
            self.ended = time.monotonic()
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"stream {self.index} closed before its first frame"))

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if self._head is not None:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            head, data = bytes(self._head[:end]).decode("latin-1"), bytes(self._head[end + 4 :])
            self._head = None
            status = head.split(" ", 2)[1]
            if status != "200":
                self.opened.set_exception(ConnectionError(f"stream {self.index}: HTTP {status}"))
                return
            self._chunked = "transfer-encoding: chunked" in head.lower()
        if self._chunked:
            self._raw += data
            self._dechunk()
        else:
            self._text += data
        self._frames(now)

    def _dechunk(self) -> None:
        raw, pos = self._raw, 0
        while pos < len(raw):
            if self._skip:
                step = min(self._skip, len(raw) - pos)
                pos, self._skip = pos + step, self._skip - step
            elif self._left:
                step = min(self._left, len(raw) - pos)
                self._text += raw[pos : pos + step]
                pos, self._left = pos + step, self._left - step
                if not self._left:
                    self._skip = 2
            else:
                end = raw.find(b"\r\n", pos)
                if end < 0:
                    break
                self._left = int(raw[pos:end].split(b";")[0], 16)
                pos = end + 2
                if not self._left:  # the last chunk: the server ended the stream
                    break
        del raw[:pos]

    def _frames(self, now: float) -> None:
        text = self._text
        start = 0
        while (end := text.find(b"\n\n", start)) >= 0:
            self._frame(bytes(text[start:end]), now)
            start = end + 2
        del text[:start]

    def _frame(self, frame: bytes, now: float) -> None:
        event = data = None
        for line in frame.split(b"\n"):
            if line.startswith(b"event: "):
                event = line[7:]
            elif line.startswith(b"data: "):
                data = line[6:]
            elif line.startswith(b"retry:") and not self.opened.done():
                self.opened.set_result(now)
        if event is None:
            return  # the retry hint, or a keep-alive comment
        self.receiver.last_event = now
        if event == b"presence.updated":
            self.presence_frames += 1
            self.told.append(self.receiver.online_in(data or b""))
        found = parse_body(data, self.receiver.tag) if event == b"message.created" and data else None
        if found is None:
            self.receiver.other_events += 1
            return
        seq, sent = found
        if self.seen[seq]:
            self.duplicates += 1
            return
        self.seen[seq] = 1
        if seq < self.highest:
            self.out_of_order += 1
        self.highest = max(self.highest, seq)
        self.receiver.delivered(seq, self.index, now - sent)


# --- all streams ------------------------------------------------------------------------------------


class Receiver:
    """Every stream in one event loop, and what they received."""

    def __init__(self, options: Options, port: int, room_ids: list[int], tokens: list[str], tag: str) -> None:
        self.options = options
        self.port = port
        self.room_ids = room_ids
        self.tokens = tokens
        self.users = -(-len(tokens) // options.devices)
        self.tag = tag
        self.messages = options.warmup + options.messages
        self.streams: list[Stream] = []
        self.closing = False
        self.last_event = time.monotonic()
        self.other_events = 0
        self.received = 0
        self._online_in: dict[bytes, frozenset[int]] = {}
        # Per message, (stream, latency in µs) of each delivery.
        self.latencies: list[list[tuple[int, int]]] = [[] for _ in range(self.messages)]

    def expected(self, sent: set[int]) -> int:
        """Deliveries that these messages make: each to every stream of its room."""
        rooms = len(self.room_ids)
        return sum(1 for stream in self.streams for seq in sent if seq % rooms == stream.room)

    def delivered(self, seq: int, stream: int, seconds: float) -> None:
        self.received += 1
        self.latencies[seq].append((stream, round(seconds * 1e6)))

    async def open_all(self) -> list[float]:
        """Open every stream, a bounded number at a time; seconds each took to its `retry:` line."""
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(self.options.connect_concurrency)

        async def open_one(index: int) -> float:
            async with gate:
                started = time.monotonic()
                _, stream = await loop.create_connection(lambda: Stream(self, index), LOOPBACK, self.port)
                self.streams.append(stream)
                return await stream.opened - started

        return list(await asyncio.gather(*(open_one(i) for i in range(len(self.tokens)))))

    def online_in(self, data: bytes) -> frozenset[int]:
        """The users a presence batch says are online; parsed once per distinct frame, not per stream."""
        told = self._online_in.get(data)
        if told is None:
            users = json.loads(data)["users"] if data else []
            told = self._online_in[data] = frozenset(u["user_id"] for u in users if u["online"])
        return told

    def untold(self, owners: dict[int, int]) -> int:
        """Arrivals some worker has not yet told any of its streams in the arriving user's room.

        Every user here opens a stream, so once each worker's last presence batch has gone out,
        the streams of each room on each worker have heard, between them, every user of the room
        come online. Streams whose worker is unknown are left out.
        """
        rooms = len(self.room_ids)
        sizes = [len(range(r, self.users, rooms)) for r in range(rooms)]
        groups: dict[tuple[int, int], dict[int, frozenset[int]]] = {}
        for stream in self.streams:
            worker = owners.get(stream.port, -1)
            if worker >= 0:
                group = groups.setdefault((worker, stream.room), {})
                group.update((id(told), told) for told in stream.told)
        return sum(
            max(0, sizes[room] - len(frozenset().union(*told.values()))) for (_, room), told in groups.items()
        )

    async def settle(self, quiet: float, limit: float, owners: dict[int, int]) -> str | None:
        """Wait for the last presence batch, then until no stream has had an event for `quiet` seconds.

        Waiting only for `quiet` seconds without events would let a server that holds a batch for
        longer look cheaper: the batch would land after the measurement. So every arrival must
        first have been told on every worker (`untold`); a batch that never comes is reported
        (the return value) once nothing has arrived for ten times `quiet`.
        """
        deadline = time.monotonic() + limit
        untold = self.untold(owners)
        while untold or time.monotonic() - self.last_event < quiet:
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: the streams did not go quiet within {limit:.0f} s")
            if untold and time.monotonic() - self.last_event > 10 * quiet:
                return f"{untold} arrivals were never told to their room's streams on some worker"
            await asyncio.sleep(0.1)
            untold = self.untold(owners) if untold else 0
        return None

    async def drain(self, expected: int, quiet: float, limit: float) -> None:
        """After the last POST: until everything arrived, nothing came for `quiet` s, or `limit` s."""
        deadline, count, changed = time.monotonic() + limit, self.received, time.monotonic()
        while self.received < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            if self.received != count:
                count, changed = self.received, time.monotonic()
            elif time.monotonic() - changed > quiet:
                return

    def close(self) -> None:
        self.closing = True
        for stream in self.streams:
            if stream.transport is not None:
                stream.transport.close()


async def lag_monitor(samples: list[float], stop: asyncio.Event, period: float = 0.005) -> None:
    """How late the loop wakes a sleeper: the delay a saturated client adds to every delivery."""
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(period)
        samples.append(time.monotonic() - before - period)


# --- the server side ---------------------------------------------------------------------------------


def worker_pids(server: Server) -> list[int]:
    pid = server.process.pid
    with contextlib.suppress(OSError):
        return sorted(int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
    return []


def rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def stream_owners(pids: list[int], server_port: int) -> dict[int, int]:
    """Client port → index of the worker holding that connection (Linux /proc), for the per-worker split."""
    inodes: dict[str, int] = {}
    for index, pid in enumerate(pids):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:["):
                        inodes[target[8:-1]] = index
    owners: dict[int, int] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.split(":")[1], 16) == server_port and inode in inodes:
                owners[int(remote.split(":")[1], 16)] = inodes[inode]
    return owners


def start_redis(processes: Processes, workdir: Path) -> str:
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no"]
    processes.start("redis", argv, dict(os.environ))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=1) as probe:
            probe.sendall(b"PING\r\n")
            if probe.recv(16).startswith(b"+PONG"):
                return f"redis://{LOOPBACK}:{port}/0"
        time.sleep(0.1)
    raise SystemExit(f"bench: redis-server did not answer:\n{(workdir / 'redis.log').read_text()[-2000:]}")


def seed(env: dict[str, str], users: int, options: Options, tag: str) -> dict[str, Any]:
    """bench/sse_fixtures.py with the server's environment (its SECRET_KEY hashes the tokens)."""
    argv = [sys.executable, "-m", "bench.sse_fixtures", "--users", str(users)]
    argv += ["--devices", str(options.devices), "--rooms", str(options.rooms)]
    completed = subprocess.run(  # noqa: S603  (this interpreter, our module)
        [*argv, "--tag", tag], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    if completed.returncode != 0:
        raise SystemExit(f"bench: seeding failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def wait_for_workers(server: Server, workers: int) -> None:
    """/readyz answers once one worker is up; streams opened before the others boot would all land on it."""
    deadline = time.monotonic() + 60
    while server.workers() < workers or len(worker_pids(server)) < workers:
        if time.monotonic() > deadline:
            raise SystemExit(
                f"bench: only {server.workers()} of {workers} workers booted:\n{server.log_tail()}"
            )
        time.sleep(0.2)
    time.sleep(1)  # a booted worker has yet to import the app and start accepting


# --- one run ------------------------------------------------------------------------------------------


def run_mode(options: Options, mode: str, workdir: Path) -> Outcome:
    workers, with_redis = MODES[mode]
    if mode == "redis":
        workers = options.redis_workers
    workdir = Path(tempfile.mkdtemp(prefix=f"{mode}-", dir=workdir))
    processes = Processes(workdir)
    try:
        redis_url = start_redis(processes, workdir) if with_redis else None
        settings = Settings(workers=workers, redis_url=redis_url, log_level=options.log_level)
        env = server_env(settings, database_url(settings, workdir))
        env["PARLEY_WORKER_CONNECTIONS"] = str(max(2000, options.streams + 200))
        server = start_server(processes, f"parley-{mode}", env, settings, None, "/readyz")
        wait_for_workers(server, workers)
        tag = secrets.token_hex(2)
        users = -(-options.streams // options.devices)
        progress(f"{mode}: seeding {users} users, {options.streams} tokens and {options.rooms} room(s)")
        seeded = seed(env, users, options, tag)
        outcome = asyncio.run(measure(options, mode, workers, server, seeded, tag))
        progress(f"{mode}: " + json.dumps({k: v for k, v in asdict(outcome).items() if k != "series"}))
    except BaseException:
        processes.stop_all()
        progress(f"{mode} failed: the servers' logs are in {keep_logs(workdir)}")
        raise
    processes.stop(server.process)  # before Redis, which its workers still use while they drain
    processes.stop_all()
    if outcome.lost or outcome.dropped_streams or outcome.errors:
        outcome.logs = str(keep_logs(workdir))
        progress(f"{mode}: events were lost or streams ended; the servers' logs are in {outcome.logs}")
    return outcome


def keep_logs(workdir: Path) -> Path:
    """The work directory goes with the run; the logs are what explains a failure."""
    kept = Path(tempfile.mkdtemp(prefix="parley-bench-sse-logs-"))
    for log in workdir.glob("*.log"):
        shutil.copy2(log, kept / log.name)
    return kept


async def measure(
    options: Options, mode: str, workers: int, server: Server, seeded: dict[str, Any], tag: str
) -> Outcome:
    tokens = seeded["tokens"][: options.streams]
    receiver = Receiver(options, server.port, seeded["room_ids"], tokens, tag)
    progress(f"{mode}: opening {len(tokens)} streams")
    started, connect_cpu_before = time.monotonic(), server.cpu_seconds()
    try:
        connect_times = await asyncio.wait_for(receiver.open_all(), options.connect_timeout)
        connect_seconds = time.monotonic() - started
        progress(f"{mode}: {len(tokens)} streams open in {connect_seconds:.1f} s; waiting for quiet")
        pids = worker_pids(server)
        owners = stream_owners(pids, server.port)
        unsettled = await receiver.settle(options.quiet, options.connect_timeout, owners)
        settle_seconds = time.monotonic() - started - connect_seconds
        events_while_connecting = receiver.other_events
        connect_cpu_after = server.cpu_seconds()
        connect_server_cpu = (
            connect_cpu_after - connect_cpu_before
            if connect_cpu_after is not None and connect_cpu_before is not None
            else None
        )
        presence_frames = [s.presence_frames for s in receiver.streams]
        rss = [round(rss_mb(pid), 1) for pid in pids]

        if options.idle:
            progress(f"{mode}: idle for {options.idle:g} s (keep-alives)")
            await asyncio.sleep(options.idle)
        before_send = await wait_for_machine(server, options.machine_wait, options.busy)
        progress(
            f"{mode}: sending {options.warmup} + {options.messages} messages at {options.rate:g}/s "
            f"(other processes: {before_send:.2f} CPUs)"
        )
        lags: list[float] = []
        stop = asyncio.Event()
        monitor = asyncio.create_task(lag_monitor(lags, stop))
        cpu_before, server_before, busy_before = _self_cpu(), server.cpu_seconds(), machine_busy_seconds()
        sender_before, phase_started = _children_cpu(), time.monotonic()
        sender = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.sse_send",
            "--port",
            str(server.port),
            f"--token={seeded['sender_token']}",  # a token may start with "-"
            *("--rooms", ",".join(map(str, seeded["room_ids"])), "--messages", str(receiver.messages)),
            *("--rate", str(options.rate), "--tag", tag),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(sender.communicate(), receiver.messages / options.rate + 120)
        posts = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
        ok = [p for p in posts if p["status"] == 201]
        await receiver.drain(receiver.expected({p["seq"] for p in ok}), quiet=3.0, limit=options.drain)
        wall = time.monotonic() - phase_started
        cpu_used, server_after, busy_after = (
            _self_cpu() - cpu_before,
            server.cpu_seconds(),
            machine_busy_seconds(),
        )
        sender_used = _children_cpu() - sender_before
        stop.set()
        await monitor
    finally:
        receiver.close()
    server_used = (
        server_after - server_before if server_after is not None and server_before is not None else None
    )
    other = None
    if server_used is not None and busy_after is not None and busy_before is not None:
        other = max(0.0, (busy_after - busy_before - server_used - cpu_used - sender_used) / wall)
    outcome = summarise(
        options,
        mode,
        workers,
        receiver,
        posts,
        owners,
        rss,
        connect_times,
        connect_seconds,
        settle_seconds,
        events_while_connecting,
        (connect_server_cpu, presence_frames),
        cpu_used / wall,
        sender_used / wall,
        server_used / wall if server_used is not None else None,
        other,
        lags,
        wall,
        phase_started,
    )
    if unsettled:
        outcome.errors.append(f"presence: {unsettled}")
    return outcome


async def wait_for_machine(server: Server, limit: float, busy: float) -> float:
    """Hold the first message until the rest of the machine (other projects' tests…) is quiet, or `limit` s.

    The client and the server share the CPUs with whatever else runs; a run that starts while
    something else keeps a core busy measures the contention, not Parley. The CPUs used by
    everything but this process and the server over the last second are returned.
    """
    deadline, other = time.monotonic() + limit, 0.0
    while True:
        busy_before, server_before, own_before = machine_busy_seconds(), server.cpu_seconds(), _self_cpu()
        started = time.monotonic()
        await asyncio.sleep(1)
        busy_after, server_after = machine_busy_seconds(), server.cpu_seconds()
        if busy_before is None or busy_after is None or server_before is None or server_after is None:
            return 0.0
        used = (busy_after - busy_before) - (server_after - server_before) - (_self_cpu() - own_before)
        other = max(0.0, used / (time.monotonic() - started))
        if other < busy or time.monotonic() > deadline:
            return other


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def summarise(
    options: Options,
    mode: str,
    workers: int,
    receiver: Receiver,
    posts: list[dict[str, Any]],
    owners: dict[int, int],
    rss: list[float],
    connect_times: list[float],
    connect_seconds: float,
    settle_seconds: float,
    events_while_connecting: int,
    connecting: tuple[float | None, list[int]],  # server CPU seconds, presence frames per stream
    client_cpus: float,
    sender_cpus: float,
    server_cpus: float | None,
    other_cpus: float | None,
    lags: list[float],
    wall: float,
    sending_started: float,
) -> Outcome:
    # The warm-up messages count for lost, duplicated and reordered events, not for latency.
    delivered = {p["seq"] for p in posts if p["status"] == 201}
    ok = {seq for seq in delivered if seq >= options.warmup}
    streams = receiver.streams
    rooms = len(receiver.room_ids)
    lost = sum(1 for s in streams for seq in delivered if seq % rooms == s.room and not s.seen[seq])
    everything = sorted(us for seq in ok for _, us in receiver.latencies[seq])
    firsts = sorted(min(us for _, us in receiver.latencies[seq]) for seq in ok if receiver.latencies[seq])
    lasts = sorted(max(us for _, us in receiver.latencies[seq]) for seq in ok if receiver.latencies[seq])
    post_times = sorted(round((p["done"] - p["sent"]) * 1e6) for p in posts if p["status"] == 201)
    worker_of = [owners.get(s.port, -1) for s in receiver.streams]
    index_of = {s.index: i for i, s in enumerate(receiver.streams)}
    per_worker: list[list[int]] = [[] for _ in range(workers)]
    for seq in ok:
        for stream, us in receiver.latencies[seq]:
            worker = worker_of[index_of[stream]]
            if 0 <= worker < workers:
                per_worker[worker].append(us)
    lag_us = sorted(round(x * 1e6) for x in lags)
    drops = sorted(round(s.ended - sending_started, 2) for s in streams if s.ended is not None)
    by_seq = {p["seq"]: p for p in posts}
    series = []
    for seq in sorted(delivered):
        times = sorted(us for _, us in receiver.latencies[seq]) or [0]
        post = by_seq[seq]
        series.append(
            {
                "seq": seq,
                "sent": round(post["sent"], 4),
                "post_ms": round((post["done"] - post["sent"]) * 1e3, 2),
                "first_ms": times[0] / 1e3,
                "median_ms": times[len(times) // 2] / 1e3,
                "last_ms": times[-1] / 1e3,
            }
        )
    busy = server_cpus * wall if server_cpus is not None else None
    errors = [
        f"message {p['seq']}: HTTP {p['status']} {p.get('error', '')}" for p in posts if p["status"] != 201
    ]
    if len(posts) < receiver.messages:
        errors.append(f"the sender reported {len(posts)} of {receiver.messages} messages")
    return Outcome(
        mode=mode,
        workers=workers,
        streams=len(streams),
        messages=options.messages,
        posted=len(ok),
        rate=options.rate,
        p50_ms=percentile(everything, 0.50) / 1e3,
        p99_ms=percentile(everything, 0.99) / 1e3,
        max_ms=(everything[-1] / 1e3) if everything else 0.0,
        lost=lost,
        duplicates=sum(s.duplicates for s in streams),
        out_of_order=sum(s.out_of_order for s in streams),
        dropped_streams=len(drops),
        connect_seconds=round(connect_seconds, 2),
        connect_p99_ms=percentile(sorted(round(t * 1e6) for t in connect_times), 0.99) / 1e3,
        settle_seconds=round(settle_seconds, 2),
        events_while_connecting=events_while_connecting,
        connect_server_cpu=round(connecting[0], 2) if connecting[0] is not None else None,
        presence_frames_max=max(connecting[1], default=0),
        presence_frames_mean=round(sum(connecting[1]) / max(1, len(connecting[1])), 1),
        post_p50_ms=percentile(post_times, 0.50) / 1e3,
        post_p99_ms=percentile(post_times, 0.99) / 1e3,
        first_p50_ms=percentile(firsts, 0.50) / 1e3,
        last_p50_ms=percentile(lasts, 0.50) / 1e3,
        last_p99_ms=percentile(lasts, 0.99) / 1e3,
        client_cpus=round(client_cpus, 2),
        sender_cpus=round(sender_cpus, 2),
        server_cpus=round(server_cpus, 2) if server_cpus is not None else None,
        other_cpus=round(other_cpus, 2) if other_cpus is not None else None,
        loop_lag_p99_ms=percentile(lag_us, 0.99) / 1e3,
        loop_lag_max_ms=(lag_us[-1] / 1e3) if lag_us else 0.0,
        server_us_per_delivery=round(busy * 1e6 / len(everything), 1) if busy and everything else None,
        worker_streams=[sum(1 for w in worker_of if w == i) for i in range(workers)],
        worker_rss_mb=rss,
        worker_p99_ms=[percentile(sorted(x), 0.99) / 1e3 for x in per_worker],
        errors=errors,
        series=series,
        drops=drops,
    )


# --- the report ------------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"


def _us(value: float | None) -> str:
    return "?" if value is None else f"{value:,.0f} µs"


def _cpus(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}"


def render(options: Options, outcomes: list[Outcome], started: datetime) -> str:
    lines = [
        f"Run on {started:%Y-%m-%d %H:%M} UTC by `{command_line(options)}`, Parley at `{_revision()}`.",
        "",
        f"- Machine: {os.cpu_count()} CPUs (`nproc` {len(os.sched_getaffinity(0))}), {_cpu_model()}, "
        f"Linux {platform.release()}; Python {platform.python_version()}; gunicorn {_version('gunicorn')}, "
        f"gevent {_version('gevent')}. The receiving client (one asyncio process), the sender and the "
        "server share these CPUs.",
        f"- {options.streams:,} streams ({options.devices} per user) in "
        + (
            "one private room, "
            if options.rooms == 1
            else f"{options.rooms} private rooms (messages take turns), "
        )
        + f"idle {options.idle:g} s once every stream is open, then {options.messages} messages at "
        f"{options.rate:g}/s after {options.warmup} unmeasured ones (lost, duplicates and order count them "
        "too), each POST on a new connection; SQLite; "
        f"`LOG_LEVEL={options.log_level}`. Latency is from just before the POST to the stream's read, "
        "over the (message, stream) pairs that arrived; lost are the pairs that never did (the client "
        "does not reconnect).",
        "",
        "| mode | workers | streams | messages | p50 | p99 | max | lost | duplicates | out of order | "
        "streams ended by the server |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        label = "in-process" if o.mode == "local" else "Redis"
        lines.append(
            f"| {label} | {o.workers} | {o.streams:,} | {o.posted} | {_ms(o.p50_ms)} | {_ms(o.p99_ms)} | "
            f"{_ms(o.max_ms)} | {o.lost:,} | {o.duplicates:,} | {o.out_of_order:,} | {o.dropped_streams:,} |"
        )
    lines += [
        "",
        "Where the time goes: POST is the sender's round trip (commit included); first and last are, per "
        "message, its earliest and latest delivery over all streams (median over messages, and the "
        "last's p99); CPUs are averages over the sending phase (server: gunicorn master and workers; "
        "client: the receiving process; other: the rest of the machine, Redis included); server CPU per "
        "delivery divides the server's CPU time by the deliveries (POST handling included); loop lag is "
        "how late the client's event loop woke a 5 ms sleeper.",
        "",
        "| mode | POST p50 / p99 | first p50 | last p50 / p99 | streams per worker | worker p99 | "
        "connect (all) | server CPUs | server CPU per delivery | client CPUs | other CPUs | loop lag p99 | "
        "RSS per worker |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        label = "in-process" if o.mode == "local" else "Redis"
        lines.append(
            f"| {label} | {_ms(o.post_p50_ms)} / {_ms(o.post_p99_ms)} | {_ms(o.first_p50_ms)} | "
            f"{_ms(o.last_p50_ms)} / {_ms(o.last_p99_ms)} | {' + '.join(map(str, o.worker_streams))} | "
            f"{' / '.join(_ms(x) for x in o.worker_p99_ms)} | {o.connect_seconds:.1f} s | "
            f"{_cpus(o.server_cpus)} | {_us(o.server_us_per_delivery)} | {_cpus(o.client_cpus)} | "
            f"{_cpus(o.other_cpus)} | {_ms(o.loop_lag_p99_ms)} | "
            f"{' / '.join(f'{x:.0f} MB' for x in o.worker_rss_mb)} |"
        )
    lines += [
        "",
        "Connecting: from the first stream opened until each worker has told the streams of each "
        "room every user of it coming online and then no stream has had an event for "
        f"{options.quiet:g} s (presence settled); server CPU is the gunicorn master's and workers' "
        "CPU time over that span; presence frames are the `presence.updated` frames each stream got.",
        "",
        "| mode | open (all) | until quiet | server CPU | presence frames per stream (max / mean) |",
        "|---|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        label = "in-process" if o.mode == "local" else "Redis"
        cpu = "?" if o.connect_server_cpu is None else f"{o.connect_server_cpu:.2f} s"
        lines.append(
            f"| {label} | {o.connect_seconds:.1f} s | {o.settle_seconds:.1f} s | {cpu} | "
            f"{o.presence_frames_max:,} / {o.presence_frames_mean:,.1f} |"
        )
    problems = [f"{o.mode}: {e}" for o in outcomes for e in o.errors]
    dropped = [
        f"{o.mode}: the server ended {o.dropped_streams} streams "
        f"({o.drops[0]:+.1f} s to {o.drops[-1]:+.1f} s from the first message)"
        for o in outcomes
        if o.dropped_streams
    ]
    if problems or dropped:
        lines += ["", "Problems: " + "; ".join(problems + dropped)]
    verdicts = [
        f"{o.mode} p99 {_ms(o.p99_ms)}, lost {o.lost}"
        + (" (meets" if o.p99_ms <= target_p99_ms(o.streams) and o.lost == 0 else " (misses")
        + f" p99 ≤ {target_p99_ms(o.streams)} ms, zero lost)"
        for o in outcomes
    ]
    verdicts += [
        f"{o.mode} connecting {_cpus(o.connect_server_cpu)} s of server CPU, "
        f"{o.presence_frames_max} presence frames per stream at most"
        + (
            " (meets"
            if o.connect_server_cpu is not None
            and o.connect_server_cpu < TARGET_CONNECT_CPU_SECONDS
            and o.presence_frames_max < TARGET_PRESENCE_FRAMES
            else " (misses"
        )
        + f" < {TARGET_CONNECT_CPU_SECONDS:g} s, < {TARGET_PRESENCE_FRAMES})"
        for o in outcomes
    ]
    lines += ["", "Target: " + "; ".join(verdicts) + "."]
    return "\n".join(lines) + "\n"


def command_line(options: Options) -> str:
    defaults, words = Options(), ["python -m bench.sse"]
    for name in ("streams", "rooms", "messages", "rate", "warmup", "idle", "devices", "mode", "runs"):
        value = getattr(options, name)
        if value != getattr(defaults, name):
            words.append(f"--{name} {value}")
    return " ".join(words)


# --- command line ------------------------------------------------------------------------------------


def raise_file_limit(needed: int) -> None:
    """Every stream is a descriptor here: lift the soft limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft != resource.RLIM_INFINITY and soft < needed:
        raise SystemExit(f"bench: {needed} streams need more open files than `ulimit -Hn` allows ({soft})")


def parser() -> argparse.ArgumentParser:
    d = Options()
    p = argparse.ArgumentParser(prog="python -m bench.sse", description=__doc__.split("\n\n")[0])
    p.add_argument("--streams", type=int, default=d.streams, help="open SSE streams (1000)")
    p.add_argument("--messages", type=int, default=d.messages, help="messages sent (100)")
    p.add_argument("--rate", type=float, default=d.rate, help="messages per second (10)")
    p.add_argument("--warmup", type=int, default=d.warmup, help="unmeasured messages sent first (10)")
    p.add_argument(
        "--idle",
        type=float,
        default=d.idle,
        help="seconds the open streams idle before the first message (20)",
    )
    p.add_argument("--devices", type=int, default=d.devices, help="streams per user (1)")
    p.add_argument("--rooms", type=int, default=d.rooms, help="rooms the users are spread over (1)")
    p.add_argument("--mode", choices=["local", "redis", "both"], default=d.mode, help="(both)")
    p.add_argument("--runs", type=int, default=d.runs, help="runs of each mode (1)")
    p.add_argument("--redis-workers", type=int, default=d.redis_workers, help="workers with Redis (2)")
    p.add_argument("--log-level", default=d.log_level, help="Parley's LOG_LEVEL (INFO, as in production)")
    p.add_argument("--json", dest="json_path", default=None, help="also write every figure to this file")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    options = Options(
        streams=args.streams,
        messages=args.messages,
        rate=args.rate,
        warmup=args.warmup,
        idle=args.idle,
        devices=args.devices,
        rooms=args.rooms,
        mode=args.mode,
        runs=args.runs,
        redis_workers=args.redis_workers,
        log_level=args.log_level,
        json_path=args.json_path,
    )
    if not (1 <= options.streams <= 10_000 and 1 <= options.messages <= 10_000 and 0 < options.rate <= 1000):
        raise SystemExit("bench: need 1..10000 streams, 1..10000 messages and a rate in (0, 1000]")
    if not (
        1 <= options.devices <= options.streams
        and 1 <= options.rooms <= options.streams // options.devices
        and 1 <= options.runs <= 10
        and 0 <= options.warmup <= 1000
    ):
        raise SystemExit(
            "bench: need 1 <= --devices <= --streams, 1 <= --rooms <= users, 1..10 --runs, 0..1000 --warmup"
        )
    raise_file_limit(options.streams + 200)
    modes = ["local", "redis"] if options.mode == "both" else [options.mode]
    started, outcomes = datetime.now(UTC), []
    with tempfile.TemporaryDirectory(prefix="parley-bench-sse-") as tmp, terminated_cleanly():
        for _ in range(options.runs):
            for mode in modes:
                outcomes.append(run_mode(options, mode, Path(tmp)))
    markdown = render(options, outcomes, started)
    print(markdown, end="")
    if options.json_path:
        summary = {
            "options": asdict(options),
            "started": started.isoformat(),
            "runs": list(map(asdict, outcomes)),
        }
        Path(options.json_path).write_text(json.dumps(summary, indent=2) + "\n")
        progress(f"wrote {options.json_path}")


if __name__ == "__main__":
    main()
