"""The event stream across real server processes: Redis between them, restarts, shutdown, concurrency.

The tests start their own servers (gunicorn with the gevent worker, or `server.py`) on a fresh
database (SQLite file, or PostgreSQL in the PostgreSQL pass); the two that need processes to hear
of each other's events share a pair of gunicorn instances and a `redis-server` started here.
Those servers poll the outbox only every 30 s (`PARLEY_EVENTS_POLL`), so an event that reaches
another process's stream within a few seconds was carried there by Redis. Streams are read with
httpx-sse in background threads; every wait has a generous deadline and ends as soon as it can.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import resource
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import cast

import gevent.socket
import httpx
import pytest
import redis
from httpx_sse import connect_sse

from gunicorn_worker import HeadWithFirstBytes
from tests.conftest import new_server_database
from tests.processes import LOOPBACK, Processes, free_port
from tests.servers import (
    Parley,
    assert_clean_log,
    create_room,
    kill,
    provision,
    send,
    start_parley,
    start_redis,
)
from tests.streams import (
    DEADLINE,
    EPHEMERAL,
    PRESENCE,
    StoredFrame,
    Stream,
    held_stream,
    leave_a_stream,
    presence_of,
    presence_told,
)

NO_POLL = {"PARLEY_EVENTS_POLL": "30"}  # these servers' outbox poll: an event sooner came through Redis


def assert_in_order_once(stream: Stream, sent: list[int]) -> None:
    """Every sent message arrived exactly once, in the order sent, and stored ids only go up."""
    ids = [frame.id for frame in stream.stored_frames()]
    assert ids == sorted(set(ids)), f"event ids repeat or go back: {stream.describe()}"
    assert stream.messages() == sent, stream.describe()
    assert stream.error is None and not stream.ended.is_set(), stream.describe()


@pytest.fixture(scope="module")
def module_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """As `server_database`, for the tests of this module that share servers."""
    with new_server_database(request, tmp_path_factory.mktemp("linked")) as url:
        yield url


@pytest.fixture(scope="module")
def linked_servers(
    module_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Parley, Parley]]:
    """Two gunicorn instances (one gevent worker each) on one database and one Redis, barely polling.

    Shared by the tests of this module (each with users of its own): starting them is most of the cost.
    """
    processes = Processes(tmp_path_factory.mktemp("linked-logs"))
    try:
        env = {"REDIS_URL": start_redis(processes), **NO_POLL}
        provision(module_database)  # here, so that neither server migrates: they start side by side
        with ThreadPoolExecutor(2) as pool:
            starting = [
                pool.submit(start_parley, processes, name, module_database, gunicorn=True, extra_env=env)
                for name in ("parley-a", "parley-b")
            ]
            first, second = (started.result() for started in starting)
        yield first, second
    finally:
        processes.stop_all()


# --- Redis between processes ------------------------------------------------------------------------


def test_messages_sent_through_either_process_reach_streams_on_both(
    linked_servers: tuple[Parley, Parley],
) -> None:
    a, b = linked_servers
    alice, bob = a.sign_up("alice"), a.sign_up("bob")
    room = create_room(a, alice, "relay", ["bob"])
    streams = [Stream(a, alice.token, name="alice on A"), Stream(b, alice.token, name="alice on B")]

    sent: list[int] = []
    with a.client(bob.token, timeout=10) as via_a, b.client(bob.token, timeout=10) as via_b:
        # One at a time: each message must cross to the other process before the next is sent.
        for n in range(30):
            sent.append(send(via_a if n % 2 == 0 else via_b, room, f"message {n}"))
            for stream in streams:
                stream.wait_for_message(sent[-1])
        for stream in streams:
            assert_in_order_once(stream, sent)

        # Then all at once from four senders, two on each process: commit order is id order.
        def burst(http: httpx.Client, sender: int) -> list[int]:
            return [send(http, room, f"burst {sender}.{n}") for n in range(10)]

        with ThreadPoolExecutor(4) as pool:
            batches = list(pool.map(burst, [via_a, via_b, via_a, via_b], range(4)))
    burst_ids = {message_id for batch in batches for message_id in batch}
    for stream in streams:
        stream.wait_until(lambda s: burst_ids <= set(s.messages()), f"the burst on {stream.name}")
        time.sleep(0.2)  # a duplicate would follow at once
        ids = [frame.id for frame in stream.stored_frames()]
        assert ids == sorted(set(ids)), f"event ids repeat or go back: {stream.describe()}"
        assert sorted(stream.messages()) == sorted(sent + list(burst_ids)), stream.describe()
        assert stream.messages()[: len(sent)] == sent, stream.describe()
        assert stream.error is None and not stream.ended.is_set(), stream.describe()
    assert_clean_log(a.service)
    assert_clean_log(b.service)


def test_a_change_on_one_process_reaches_a_stream_on_the_other(linked_servers: tuple[Parley, Parley]) -> None:
    a, b = linked_servers
    carol, dave = a.sign_up("carol"), a.sign_up("dave")
    on_a = Stream(a, carol.token, name="carol on A")

    room = create_room(b, dave, "made on B", [carol.username])  # committed on B: only Redis tells A
    on_a.wait_until(lambda s: any(f.type == "room.created" for f in s.frames), "room.created from B")
    created = next(frame for frame in on_a.frames if frame.type == "room.created")
    assert created.data["id"] == room and created.data["name"] == "made on B", on_a.describe()
    added = [f for f in on_a.frames if f.type == "member.added" and f.data["user"]["id"] == carol.id]
    assert len(added) == 1 and added[0].data["room_id"] == room, on_a.describe()
    assert added[0].id is not None and created.id is not None, on_a.describe()  # stored: they have ids
    assert added[0].id < created.id, on_a.describe()

    # Ephemeral events cross on Redis too: they are never stored, so no poll could find them.
    with b.client(dave.token, timeout=10) as via_b:
        assert via_b.post(f"/api/v1/rooms/{room}/typing").status_code == 204
        on_a.wait_until(lambda s: any(f.type == "typing" for f in s.frames), "typing from B")
        # A stream open on A makes carol online for B as well.
        assert via_b.get(f"/api/v1/users/{carol.id}").json()["presence"] == "online"
    assert_clean_log(a.service)
    assert_clean_log(b.service)


def data_segments_received(sock: socket.socket) -> int:
    """TCP segments with data that reached this socket (Linux's `tcp_info.tcpi_data_segs_in`)."""
    return struct.unpack_from("I", sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256), 152)[0]


@pytest.mark.parametrize(("path", "first"), [("/readyz", b'"status"'), ("/api/v1/events", b"retry: 3000")])
def test_an_answer_s_head_reaches_the_client_with_its_first_body_bytes(
    linked_servers: tuple[Parley, Parley], path: str, first: bytes
) -> None:
    """One send (one segment) for the head and the first bytes: a JSON answer, or a stream's `retry:`."""
    a, _ = linked_servers
    erin = a.sign_up(f"erin{len(path)}")
    with socket.create_connection((LOOPBACK, a.port), timeout=DEADLINE) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: parley\r\nAuthorization: Bearer {erin.token}\r\n\r\n".encode()
        )
        received = b""
        while first not in received:
            received += sock.recv(65536)
        segments = data_segments_received(sock)
    assert received.startswith(b"HTTP/1.1 200 OK\r\n"), received
    assert segments == 1 + received.count(b"\nevent: "), received  # a presence frame may follow at once


def chunked_body(sock: socket.socket, received: bytes, until: bytes) -> bytes:
    """The body of the chunked answer `received` starts, read until it holds `until`; each chunk must hold."""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, rest = received.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Transfer-Encoding: chunked" in head, head
    body = b""
    while until not in body:
        while b"\r\n" not in rest:
            rest += sock.recv(65536)
        size_line, rest = rest.split(b"\r\n", 1)
        size = int(size_line, 16)
        while len(rest) < size + 2:
            rest += sock.recv(65536)
        assert rest[size : size + 2] == b"\r\n", rest[: size + 2]
        body, rest = body + rest[:size], rest[size + 2 :]
    return body


def answers_in(received: bytes) -> int:
    return received.count(b"HTTP/1.1 200 OK\r\n")


def test_a_client_whose_next_request_is_always_waiting_leaves_the_worker_s_other_clients_their_turn(
    linked_servers: tuple[Parley, Parley],
) -> None:
    """A connection with 200 requests pipelined (a busy client's next request is always there) is
    answered in turn with another of the worker's connections, not all 200 before it: the order
    the worker answered in is its access log's. The worker looks for newly arrived requests at
    least every 5 ms (gevent's switch interval) while it serves the busy one: about 50 of its
    /healthz here, 200 without the turns."""
    a, _ = linked_servers
    asked, tag = 200, f"turns{time.monotonic_ns()}"

    def request(name: str) -> bytes:
        return f"GET /healthz HTTP/1.1\r\nHost: parley\r\nX-Request-ID: {tag}-{name}\r\n\r\n".encode()

    with (
        socket.create_connection((LOOPBACK, a.port), timeout=DEADLINE) as busy,
        socket.create_connection((LOOPBACK, a.port), timeout=DEADLINE) as other,
    ):
        for sock in (busy, other):  # both accepted, waiting for their next request
            sock.sendall(request("warm"))
            assert answers_in(sock.recv(65536)) == 1
        busy.sendall(b"".join(request("busy") for _ in range(asked)))
        received = busy.recv(65536)  # its answers have begun: `other` asks while they go on
        other.sendall(request("other"))
        assert answers_in(other.recv(65536)) == 1
        while answers_in(received) < asked:  # every request is still answered
            received += busy.recv(65536)
    answered = re.findall(rf"\[{tag}-(busy|other)\]", a.service.output())
    assert answered.count("busy") == asked and answered.count("other") == 1, answered
    served_before = answered.index("other")
    assert served_before < asked * 3 // 4, f"{served_before} of the busy client's {asked} answers came first"
    assert_clean_log(a.service)


def test_a_stream_whose_client_stops_reading_gets_every_frame_in_order_once_it_reads_again(
    linked_servers: tuple[Parley, Parley],
) -> None:
    """The hub writes an idle stream's frames to its socket itself; what a full socket does not take
    then leaves before anything else, in whole chunks, once the client reads again."""
    a, _ = linked_servers
    fay, gus = a.sign_up("fay"), a.sign_up("gus")
    room_id = create_room(a, gus, "full", ["fay"])
    request = f"GET /api/v1/events HTTP/1.1\r\nHost: parley\r\nAuthorization: Bearer {fay.token}\r\n\r\n"
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window, set before connecting
        sock.settimeout(DEADLINE)
        sock.connect((LOOPBACK, a.port))
        sock.sendall(request.encode())
        received = sock.recv(65536)  # the head and `retry:`; then nothing is read while 480 KB are sent
        with a.client(gus.token, timeout=10) as http:
            sent = [send(http, room_id, f"{number:03d}" + "x" * 3996) for number in range(120)]
        body = chunked_body(sock, received, b'"body":"119')
    created = [frame for frame in body.split(b"\n\n") if b"event: message.created" in frame]
    assert [int(frame.split(b'"id":', 1)[1].split(b",", 1)[0]) for frame in created] == sent
    assert_clean_log(a.service)


def test_what_a_full_socket_does_not_take_from_the_hub_leaves_first_with_the_stream_s_next_write() -> None:
    """gunicorn_worker.py's response, on a socket whose buffer fills: frames the hub wrote without
    waiting go out whole and in order, before the stream's own next frame."""
    with gevent.socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the client's window, small
        listener.bind((LOOPBACK, 0))
        listener.listen()
        theirs = socket.create_connection(listener.getsockname())
        ours, _ = listener.accept()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    response = HeadWithFirstBytes(None, ours, None)
    response.headers_sent = response.chunked = True  # the head and `retry:` are out
    frames = [
        b"data: %02d%s\n\n" % (number, b"x" * 50_000) for number in range(20)
    ]  # each fills both buffers
    written = list(itertools.takewhile(response.write_nowait, frames))
    assert response.backlog and 0 < len(written) < len(frames)  # the last one taken is partly sent
    assert not response.write_nowait(frames[len(written)])  # nothing goes past what is held back
    received = bytearray()
    theirs.setblocking(False)
    with contextlib.suppress(BlockingIOError):
        while chunk := theirs.recv(1 << 20):
            received += chunk
    response.write(b"data: the stream's own\n\n")
    response.close()
    ours.close()
    theirs.setblocking(True)
    with theirs:
        while chunk := theirs.recv(1 << 20):
            received += chunk
    assert dechunked(bytes(received)) == b"".join([*written, b"data: the stream's own\n\n"])


def dechunked(body: bytes) -> bytes:
    """A whole chunked body, decoded: each chunk must hold, and the last must be the empty one."""
    decoded = b""
    while True:
        size_line, body = body.split(b"\r\n", 1)
        size = int(size_line, 16)
        assert body[size : size + 2] == b"\r\n", body[: size + 2]
        if size == 0:
            assert body == b"\r\n"
            return decoded
        decoded, body = decoded + body[:size], body[size + 2 :]


# --- resuming after a crash ---------------------------------------------------------------------------


def read_then_disconnect(parley: Parley, token: str, produce: Callable[[], list[int]]) -> list[StoredFrame]:
    """Open a stream, `produce` messages, read until the last of them arrives, disconnect: the frames."""
    frames: list[StoredFrame] = []
    with (
        parley.client(token, timeout=httpx.Timeout(10, read=DEADLINE)) as http,
        connect_sse(http, "GET", "/api/v1/events") as source,
    ):
        assert source.response.status_code == 200
        lines = source.iter_sse()
        assert next(lines).retry == 3000  # subscribed: what follows is live
        sent = produce()
        for sse in lines:
            if sse.event in EPHEMERAL or not sse.id:
                continue
            frames.append(StoredFrame(sse.event, int(sse.id), sse.json()))
            if sse.event == "message.created" and frames[-1].data["id"] == sent[-1]:
                assert [f.data["id"] for f in frames if f.type == "message.created"] == sent, frames
                return frames
    pytest.fail(f"the stream ended before the messages arrived: {frames}")


def test_resume_after_a_kill_replays_what_was_missed_on_any_process(
    processes: Processes, server_database: str
) -> None:
    port = free_port()
    a = start_parley(processes, "parley-a", server_database, port=port)
    alice, bob = a.sign_up("alice"), a.sign_up("bob")
    room = create_room(a, alice, "resume", ["bob"])
    with a.client(bob.token, timeout=10) as http:
        frames = read_then_disconnect(
            a, alice.token, lambda: [send(http, room, f"seen {n}") for n in range(3)]
        )
    last_read = frames[-1].id  # the client's Last-Event-ID

    with a.client(bob.token, timeout=10) as http:
        missed = [send(http, room, f"missed {n}") for n in range(3)]
    kill(a.service)
    with ThreadPoolExecutor(2) as pool:  # B, on the same database, is asked only at the end
        other_starting = pool.submit(
            start_parley, processes, "parley-b", server_database, PARLEY_AUTO_MIGRATE="0"
        )
        restarted = start_parley(processes, "parley-a-restarted", server_database, port=port)
        other = other_starting.result()
    with restarted.client(bob.token, timeout=10) as http:
        missed += [send(http, room, f"missed after the restart {n}") for n in range(2)]

    resumed = Stream(restarted, alice.token, last_event_id=last_read, name="alice resuming on A")
    resumed.wait_until(lambda s: set(missed) <= set(s.messages()), "the replay")
    with restarted.client(bob.token, timeout=10) as http:
        live = send(http, room, "live")
    resumed.wait_for_message(live)
    stored = resumed.stored_frames()
    assert [f.type for f in stored] == ["message.created"] * (len(missed) + 1), resumed.describe()
    assert resumed.messages() == [*missed, live], resumed.describe()
    assert all(f.id > last_read for f in stored), resumed.describe()
    assert [f.id for f in stored] == sorted({f.id for f in stored}), resumed.describe()

    # Another process on the same database replays exactly the same events from the same point.
    elsewhere = Stream(other, alice.token, last_event_id=last_read, name="alice resuming on B")
    elsewhere.wait_for_message(live)
    time.sleep(0.2)  # nothing more should follow
    assert elsewhere.stored_frames() == stored, f"{elsewhere.describe()}\n{resumed.describe()}"
    assert_clean_log(restarted.service)
    assert_clean_log(other.service)


# --- shutdown and concurrency under gunicorn -------------------------------------------------------


def test_gunicorn_workers_may_hold_as_many_streams_as_the_hard_open_file_limit_allows(
    processes: Processes, server_database: str
) -> None:
    """Started under a shell's usual soft limit (1,024 open files), a worker would refuse the
    thousand-and-first stream: gunicorn.conf.py lifts the limit to the hard one for every worker."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 2048:
        pytest.skip(f"the hard open-file limit ({hard}) leaves nothing to lift")
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))  # inherited by the server's processes
    try:
        parley = start_parley(processes, "parley", server_database, gunicorn=True)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    master = parley.service.process.pid
    workers = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    assert workers
    for pid in [master, *map(int, workers)]:
        assert resource.prlimit(pid, resource.RLIMIT_NOFILE) == (hard, hard)


def test_sigterm_ends_open_streams_cleanly_and_gunicorn_exits_zero(
    processes: Processes, server_database: str
) -> None:
    parley = start_parley(processes, "parley", server_database, gunicorn=True)
    alice, bob = parley.sign_up("alice"), parley.sign_up("bob")
    streams = [Stream(parley, alice.token, name="alice"), Stream(parley, bob.token, name="bob")]

    parley.service.process.send_signal(signal.SIGTERM)  # the master only, as an orchestrator does
    for stream in streams:
        if not stream.ended.wait(5):
            pytest.fail(f"{stream.name} still open 5 s after SIGTERM:\n{parley.service.output()[-3000:]}")
        assert stream.error is None, f"{stream.describe()}\n{parley.service.output()[-3000:]}"
    try:
        code = parley.service.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"gunicorn still running 10 s after SIGTERM:\n{parley.service.output()[-3000:]}")
    assert code == 0, parley.service.output()[-3000:]
    assert_clean_log(parley.service)


def test_presence_crosses_processes_in_batches_and_ends_a_grace_period_after_the_last_stream(
    processes: Processes, server_database: str
) -> None:
    redis_url = start_redis(processes)
    env = {"REDIS_URL": redis_url, "PARLEY_EVENTS_KEEPALIVE": "0.2", **PRESENCE}
    with ThreadPoolExecutor(2) as pool:  # A migrates the database; B, the development server, waits
        starting_a = pool.submit(
            start_parley, processes, "parley-a", server_database, gunicorn=True, extra_env=env
        )
        starting_b = pool.submit(
            start_parley, processes, "parley-b", server_database, PARLEY_AUTO_MIGRATE="0", extra_env=env
        )
        a, b = starting_a.result(), starting_b.result()
    alice, bob = a.sign_up("alice"), a.sign_up("bob")
    create_room(a, alice, "presence", ["bob"])
    watcher = Stream(b, bob.token, name="bob on B")

    def told() -> list[bool]:
        return presence_told(watcher, alice)

    assert presence_of(b, alice) == {"presence": "offline", "last_seen_at": None}
    with held_stream(a, alice):
        watcher.wait_until(lambda _: told() == [True], "alice online on A, told on B's stream")
        assert presence_of(b, alice)["presence"] == "online"
    with held_stream(b, alice):  # back on B within A's grace period: nobody sees her leave
        time.sleep(1.5)
        assert told() == [True]
        assert [presence_of(p, alice)["presence"] for p in (a, b)] == ["online", "online"]
    left = time.monotonic()
    watcher.wait_until(lambda _: told() == [True, False], "alice offline after the grace period, on B")
    assert time.monotonic() - left >= 0.9  # the grace period is 1 s
    for parley in (a, b):
        shown = presence_of(parley, alice)
        assert shown["presence"] == "offline" and shown["last_seen_at"] is not None
    assert watcher.error is None, watcher.describe()


def test_users_whose_streams_close_together_are_told_to_redis_together(
    processes: Processes, server_database: str
) -> None:
    """Their entries shortened to the grace period and when they were last seen, in one pipeline
    (one HSET for all) a tenth of an interval after the first close, as their arrivals are written:
    one round trip per closing stream was about 7 % of a worker's CPU in a run of 1,000 streams."""
    redis_url = start_redis(processes)
    # Quick keep-alives: a server finds out at its next write that nobody reads a stream.
    env = {"REDIS_URL": redis_url, "PARLEY_EVENTS_KEEPALIVE": "0.2"}
    parley = start_parley(processes, "parley", server_database, gunicorn=True, extra_env=env)
    users = [parley.sign_up(f"user{number}") for number in range(8)]
    streams = [Stream(parley, user.token, name=f"{user.username}'s stream") for user in users]
    store = redis.Redis.from_url(redis_url)
    entries = [f"parley:events:presence:{user.id}" for user in users]
    seen = "parley:events:presence:last_seen"
    deadline = time.monotonic() + DEADLINE
    while not all(store.zcard(entry) for entry in entries):
        assert time.monotonic() < deadline, "the streams' entries were never written"
        time.sleep(0.05)
    store.config_resetstat()
    with ThreadPoolExecutor(len(streams)) as pool:
        list(pool.map(Stream.close, streams))
    while store.hlen(seen) < len(users):
        assert time.monotonic() < deadline, f"last seen of {store.hlen(seen)} users of {len(users)}"
        time.sleep(0.05)
    # withscores=True: (member, score) pairs, which redis-py's return type does not tell from plain members.
    lapses = [
        score
        for entry in entries
        for _, score in cast(list[tuple[bytes, float]], store.zrange(entry, 0, -1, withscores=True))
    ]
    assert len(lapses) == len(users)
    assert all(time.time() + 5 < lapse < time.time() + 11 for lapse in lapses)  # the 10 s grace period
    assert store.info("commandstats")["cmdstat_hset"]["calls"] <= 2
    store.close()


@pytest.mark.parametrize(("gunicorn", "streams"), [(True, 20), (False, 5)], ids=["gunicorn", "server.py"])
def test_open_streams_leave_requests_free_and_a_stream_left_ends_cleanly(
    processes: Processes, server_database: str, gunicorn: bool, streams: int
) -> None:
    """Streams do not hold the only gunicorn worker (gevent) or the development server (threads)."""
    env = {"PARLEY_EVENTS_KEEPALIVE": "0.2", **PRESENCE}  # a stream whose client left is noticed at once
    parley = start_parley(processes, "parley", server_database, gunicorn=gunicorn, extra_env=env)
    alice, bob, carol = parley.sign_up("alice"), parley.sign_up("bob"), parley.sign_up("carol")
    # Half each: one user may hold only EVENTS_MAX_STREAMS_PER_USER (10) streams in a process.
    holders = [(alice, carol)[n % 2] for n in range(streams)]
    open_streams = [Stream(parley, h.token, name=f"stream {n}", wait=False) for n, h in enumerate(holders)]
    for stream in open_streams:
        stream.wait_open()
    with parley.client(alice.token, timeout=5) as http:
        for _ in range(20):
            answer = http.get("/api/v1/users/me")
            assert answer.status_code == 200, answer.text
            assert answer.json()["id"] == alice.id

    def on_a_new_connection(_: int) -> int:
        with parley.client(alice.token, timeout=5) as client:
            return client.get("/api/v1/users/me").status_code

    with ThreadPoolExecutor(10) as pool:
        assert list(pool.map(on_a_new_connection, range(20))) == [200] * 20

    leave_a_stream(parley, bob)
    for stream in open_streams:
        assert stream.error is None and not stream.ended.is_set(), stream.describe()
    assert_clean_log(parley.service)
