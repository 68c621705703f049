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
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis
from httpx_sse import connect_sse

from tests.conftest import IN_CI, new_server_database
from tests.processes import LOOPBACK, Processes, Service, free_port, wait_until
from tests.servers import Account, Parley, start_parley

DEADLINE = 5.0  # generous: a delivery takes milliseconds; the outbox poll of these servers takes 30 s
EPHEMERAL = {"typing", "presence.updated"}  # frames without an id of their own
NO_POLL = {"PARLEY_EVENTS_POLL": "30"}
# Presence batches every 0.2 s; offline 1 s after the last stream closes (not 10 s).
PRESENCE = {"PARLEY_PRESENCE_INTERVAL": "0.2", "PARLEY_PRESENCE_GRACE": "1"}


# --- a stream read in the background --------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    type: str
    id: int | None
    data: Any


class Stream:
    """`GET /api/v1/events` read by a daemon thread into `frames` until the server ends it.

    httpx-sse keeps the last `id:` across frames (as EventSource does), so frames of ephemeral
    types get `id` None here. The stream is open (subscribed) once its `retry:` frame is in.
    """

    def __init__(
        self,
        parley: Parley,
        token: str,
        *,
        last_event_id: int | None = None,
        name: str = "",
        wait: bool = True,
    ) -> None:
        self.name = name or f"stream on :{parley.port}"
        self.frames: list[Frame] = []
        self.retry: int | None = None
        self.status: int | None = None
        self.error: BaseException | None = None
        self.opened = threading.Event()
        self.ended = threading.Event()
        headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
        self._thread = threading.Thread(
            target=self._read, args=(parley, token, headers), name=self.name, daemon=True
        )
        self._thread.start()
        if wait:
            self.wait_open()

    def wait_open(self) -> None:
        if not self.opened.wait(15):
            pytest.fail(f"{self.name} did not open within 15 s: {self.describe()}")
        assert self.status == 200, self.describe()
        assert self.retry == 3000, f"the first frame of {self.name} is not `retry: 3000`: {self.describe()}"

    def _read(self, parley: Parley, token: str, headers: dict[str, str]) -> None:
        try:
            with (
                parley.client(token, timeout=httpx.Timeout(10, read=60)) as http,
                connect_sse(http, "GET", "/api/v1/events", headers=headers) as source,
            ):
                self.status = source.response.status_code
                if self.status != 200:
                    source.response.read()
                    self.error = AssertionError(f"{self.status}: {source.response.text}")
                    return
                for sse in source.iter_sse():
                    if sse.retry is not None and not sse.data and self.retry is None:
                        self.retry = sse.retry
                        self.opened.set()
                        continue
                    event_id = None if sse.event in EPHEMERAL or not sse.id else int(sse.id)
                    self.frames.append(Frame(sse.event, event_id, sse.json() if sse.data else None))
        except BaseException as error:  # reported by the test that reads the stream
            self.error = error
        finally:
            self.opened.set()
            self.ended.set()

    # --- what arrived ---

    def stored(self) -> list[Frame]:
        """The frames of stored events (with ids), in arrival order."""
        return [frame for frame in self.frames if frame.id is not None]

    def messages(self) -> list[int]:
        """The ids of the messages in `message.created` frames, in arrival order."""
        return [frame.data["id"] for frame in self.frames if frame.type == "message.created"]

    def describe(self) -> str:
        frames = ", ".join(f"{f.type}#{f.id}" for f in self.frames[-40:])
        return f"{self.name}: status {self.status}, error {self.error!r}, last frames [{frames}]"

    def wait_for(self, condition: Callable[[Stream], bool], what: str, timeout: float = DEADLINE) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: not within {timeout} s. {self.describe()}")
            if self.ended.is_set() and not condition(self):
                pytest.fail(f"{what}: the stream ended first. {self.describe()}")
            time.sleep(0.01)

    def wait_for_message(self, message_id: int, timeout: float = DEADLINE) -> None:
        self.wait_for(lambda s: message_id in s.messages(), f"message {message_id} on {self.name}", timeout)


def assert_in_order_once(stream: Stream, sent: list[int]) -> None:
    """Every sent message arrived exactly once, in the order sent, and stored ids only go up."""
    ids = [frame.id for frame in stream.stored()]
    assert ids == sorted(set(ids)), f"event ids repeat or go back: {stream.describe()}"
    assert stream.messages() == sent, stream.describe()
    assert stream.error is None and not stream.ended.is_set(), stream.describe()


# --- services -------------------------------------------------------------------------------------


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
        first = start_parley(processes, "parley-a", module_database, gunicorn=True, **env)  # migrates alone
        second = start_parley(processes, "parley-b", module_database, gunicorn=True, **env)
        yield first, second
    finally:
        processes.stop_all()


# --- the API, as a client uses it -------------------------------------------------------------------


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
        stream.wait_for(lambda s: burst_ids <= set(s.messages()), f"the burst on {stream.name}")
        time.sleep(0.2)  # a duplicate would follow at once
        ids = [frame.id for frame in stream.stored()]
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
    on_a.wait_for(lambda s: any(f.type == "room.created" for f in s.frames), "room.created from B")
    created = next(frame for frame in on_a.frames if frame.type == "room.created")
    assert created.data["id"] == room and created.data["name"] == "made on B", on_a.describe()
    added = [f for f in on_a.frames if f.type == "member.added" and f.data["user"]["id"] == carol.id]
    assert len(added) == 1 and added[0].data["room_id"] == room, on_a.describe()
    assert added[0].id < created.id, on_a.describe()

    # Ephemeral events cross on Redis too: they are never stored, so no poll could find them.
    with b.client(dave.token, timeout=10) as via_b:
        assert via_b.post(f"/api/v1/rooms/{room}/typing").status_code == 204
        on_a.wait_for(lambda s: any(f.type == "typing" for f in s.frames), "typing from B")
        # A stream open on A makes carol online for B as well.
        assert via_b.get(f"/api/v1/users/{carol.id}").json()["presence"] == "online"
    assert_clean_log(a.service)
    assert_clean_log(b.service)


# --- resuming after a crash ---------------------------------------------------------------------------


def read_then_disconnect(parley: Parley, token: str, produce: Callable[[], list[int]]) -> list[Frame]:
    """Open a stream, `produce` messages, read until the last of them arrives, disconnect: the frames."""
    frames: list[Frame] = []
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
            frames.append(Frame(sse.event, int(sse.id), sse.json()))
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
    resumed.wait_for(lambda s: set(missed) <= set(s.messages()), "the replay")
    with restarted.client(bob.token, timeout=10) as http:
        live = send(http, room, "live")
    resumed.wait_for_message(live)
    stored = resumed.stored()
    assert [f.type for f in stored] == ["message.created"] * (len(missed) + 1), resumed.describe()
    assert resumed.messages() == [*missed, live], resumed.describe()
    assert all(f.id > last_read for f in stored), resumed.describe()
    assert [f.id for f in stored] == sorted({f.id for f in stored}), resumed.describe()

    # Another process on the same database replays exactly the same events from the same point.
    elsewhere = Stream(other, alice.token, last_event_id=last_read, name="alice resuming on B")
    elsewhere.wait_for_message(live)
    time.sleep(0.2)  # nothing more should follow
    assert elsewhere.stored() == stored, f"{elsewhere.describe()}\n{resumed.describe()}"
    assert_clean_log(restarted.service)
    assert_clean_log(other.service)


# --- shutdown and concurrency under gunicorn -------------------------------------------------------


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


@contextlib.contextmanager
def held_stream(parley: Parley, user: Account) -> Iterator[None]:
    """A stream of the user's, open (subscribed) inside the block; the client hangs up at its end."""
    with (
        parley.client(user.token, timeout=5) as http,
        connect_sse(http, "GET", "/api/v1/events") as source,
    ):
        frames = source.iter_sse()  # held: an iterator dropped by the GC closes the connection
        assert next(frames).retry == 3000
        yield


def presence_of(parley: Parley, user: Account) -> dict[str, Any]:
    """`presence` and `last_seen_at` of the user, as this process shows them."""
    with parley.client(user.token, timeout=5) as http:
        profile = http.get(f"/api/v1/users/{user.id}").json()
    return {"presence": profile["presence"], "last_seen_at": profile["last_seen_at"]}


def presence_told(stream: Stream, user: Account) -> list[bool]:
    """Each `online` the stream's presence batches said of the user, in order."""
    return [
        item["online"]
        for frame in stream.frames
        if frame.type == "presence.updated"
        for item in frame.data["users"]
        if item["user_id"] == user.id
    ]


def leave_a_stream(parley: Parley, user: Account) -> None:
    """Open a stream and hang up; return once the user is offline again (the servers' grace is short)."""
    with held_stream(parley, user):
        assert presence_of(parley, user)["presence"] == "online"
    # The server finds out at its next write (a keep-alive) that nobody reads the stream.
    deadline = time.monotonic() + DEADLINE
    while presence_of(parley, user)["presence"] != "offline":
        if time.monotonic() > deadline:
            pytest.fail(f"still online {DEADLINE} s after leaving:\n{parley.service.output()[-3000:]}")
        time.sleep(0.05)
    time.sleep(0.3)  # what the server does after the end of the stream (close callbacks) is logged


def test_presence_crosses_processes_in_batches_and_ends_a_grace_period_after_the_last_stream(
    processes: Processes, server_database: str
) -> None:
    redis_url = start_redis(processes)
    env = {"REDIS_URL": redis_url, "PARLEY_EVENTS_KEEPALIVE": "0.2", **PRESENCE}
    with ThreadPoolExecutor(2) as pool:  # A migrates the database; B, the development server, waits
        a = pool.submit(start_parley, processes, "parley-a", server_database, gunicorn=True, **env)
        b = pool.submit(start_parley, processes, "parley-b", server_database, PARLEY_AUTO_MIGRATE="0", **env)
        a, b = a.result(), b.result()
    alice, bob = a.sign_up("alice"), a.sign_up("bob")
    create_room(a, alice, "presence", ["bob"])
    watcher = Stream(b, bob.token, name="bob on B")

    def told() -> list[bool]:
        return presence_told(watcher, alice)

    assert presence_of(b, alice) == {"presence": "offline", "last_seen_at": None}
    with held_stream(a, alice):
        watcher.wait_for(lambda _: told() == [True], "alice online on A, told on B's stream")
        assert presence_of(b, alice)["presence"] == "online"
    with held_stream(b, alice):  # back on B within A's grace period: nobody sees her leave
        time.sleep(1.5)
        assert told() == [True]
        assert [presence_of(p, alice)["presence"] for p in (a, b)] == ["online", "online"]
    left = time.monotonic()
    watcher.wait_for(lambda _: told() == [True, False], "alice offline after the grace period, on B")
    assert time.monotonic() - left >= 0.9  # the grace period is 1 s
    for parley in (a, b):
        shown = presence_of(parley, alice)
        assert shown["presence"] == "offline" and shown["last_seen_at"] is not None
    assert watcher.error is None, watcher.describe()


@pytest.mark.parametrize(("gunicorn", "streams"), [(True, 20), (False, 5)], ids=["gunicorn", "server.py"])
def test_open_streams_leave_requests_free_and_a_stream_left_ends_cleanly(
    processes: Processes, server_database: str, gunicorn: bool, streams: int
) -> None:
    """Streams do not hold the only gunicorn worker (gevent) or the development server (threads)."""
    env = {"PARLEY_EVENTS_KEEPALIVE": "0.2", **PRESENCE}  # a stream whose client left is noticed at once
    parley = start_parley(processes, "parley", server_database, gunicorn=gunicorn, **env)
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
