"""What handing out a live event costs the process that holds the streams: only its audience's
streams are offered it, and a stream that fell behind catches up in one write.

Streams are opened with the test client and read only when the test says so: each is a
subscriber of this process's hub from the moment its request is answered.
"""

from __future__ import annotations

import contextlib
import cProfile
import itertools
import pstats
import threading
import time
from collections.abc import Iterator
from typing import Any

import redis
import werkzeug.local
from redis.client import Pipeline

from app.modules.events import hub, presence
from app.modules.events.broker import PROCESS, LocalBroker
from app.modules.events.hub import Delivery, Hub, Subscriber
from app.modules.events.presence import Presence
from tests.rooms import create_room, messages_path
from tests.servers import start_redis

STREAM = "/api/v1/events"
BEHIND = 10  # messages a stream has not read yet


def say(client, user, room_id: int, body: str) -> None:
    response = client.post(messages_path(room_id), json={"body": body}, headers=user.headers)
    assert response.status_code == 201, response.get_json()


def frames(chunk: bytes) -> list[bytes]:
    return [frame for frame in chunk.split(b"\n\n") if frame]


def read_until(stream: Any, body: str) -> list[bytes]:
    """The stream's chunks up to the one that carries the message `body`."""
    chunks = []
    for chunk in stream.response:
        chunks.append(chunk)
        if f'"body":"{body}"'.encode() in chunk:
            return chunks
    raise AssertionError(f"the stream ended before {body!r}")


@contextlib.contextmanager
def streams_of(client, *users: Any) -> Iterator[list[Any]]:
    opened: list[Any] = []
    try:
        for user in users:
            opened.append(client.get(STREAM, headers=user.headers, buffered=False))
            assert opened[-1].status_code == 200
        yield opened
    finally:
        for stream in reversed(opened):  # the test client nests their contexts
            stream.close()


def test_an_event_is_offered_only_to_the_streams_of_those_who_may_see_it(
    app, client, alice, bob, monkeypatch
):
    """Every event used to be offered to every stream of the process, which then looked whether its
    user may see it: 10,000 streams in ten rooms cost 10,000 offers per message for 1,000 frames."""
    monkeypatch.setitem(app.config, "EVENTS_MAX_STREAMS_PER_USER", 30)
    offered: list[tuple[int, str]] = []
    offer = Subscriber.offer

    def counted(subscriber: Subscriber, delivery: Delivery) -> None:
        offered.append((subscriber.user_id, delivery.type))
        offer(subscriber, delivery)

    monkeypatch.setattr(Subscriber, "offer", counted)
    diary = create_room(client, alice, "diary")
    with streams_of(client, *[bob] * 30, alice) as opened:
        say(client, alice, diary["id"], "dear diary")
        read_until(opened[-1], "dear diary")
    assert [user for user, type_ in offered if type_ == "message.created"] == [alice.id]


def test_frames_queued_while_a_stream_waits_leave_in_one_write_that_looks_nothing_up_per_frame(
    app, client, alice, bob
):
    """One write (one send, one wake-up of the stream) for all that piled up, not one per frame; nor
    does each frame look the application up (whether metrics are on cost a twentieth of a delivery)."""
    lounge = create_room(client, alice, "lounge", members=["bob"])
    with streams_of(client, alice, bob) as (alices, bobs):
        assert next(alices.response).startswith(b"retry:")
        for number in range(BEHIND):
            say(client, bob, lounge["id"], f"message {number}")
        # Bob hears the last one after the hub has queued every earlier one for Alice.
        say(client, bob, lounge["id"], "after")
        read_until(bobs, "after")
        profiler = cProfile.Profile()
        caught_up = profiler.runcall(next, alices.response)
    sent = [frame for frame in frames(caught_up) if frame.startswith(b"id: ")]
    assert [b'"body":"message %d"' % number in sent[number] for number in range(BEHIND)] == [True] * BEHIND
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    lookups = sum(calls for (path, _, _), (_, calls, *_) in stats.items() if path == werkzeug.local.__file__)
    assert lookups < BEHIND


class Socket:
    """A response body the server lets the hub write to (gunicorn_worker.py's): what went out through it."""

    backlog = b""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write_nowait(self, data: bytes) -> bool:
        self.written.append(data)
        return True


def test_a_live_frame_goes_from_the_hub_to_a_waiting_stream_s_socket_without_waking_the_stream(
    app, client, alice, bob
):
    """Waking a stream's greenlet and its generators for every frame cost as much as the send
    itself with 10,000 streams; a frame that differs per receiver (a room's unread count) still
    goes through the stream, which reads it for its user."""
    lounge = create_room(client, alice, "lounge", members=["bob"])
    socket, woken = Socket(), []
    opened = threading.Event()

    def read() -> None:
        with app.test_client() as own:
            stream = own.get(
                STREAM, headers=alice.headers, buffered=False, environ_base={"parley.body": socket}
            )
            opened.set()
            woken.extend(stream.response)  # until the stream ends

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert opened.wait(10)
    (subscriber,) = app.extensions["parley.events"].hub._by_user[alice.id]
    deadline = time.monotonic() + 10
    while not subscriber.parked and time.monotonic() < deadline:
        time.sleep(0.01)
    say(client, bob, lounge["id"], "straight out")
    renamed = client.patch(f"/api/v1/rooms/{lounge['id']}", headers=alice.headers, json={"name": "parlour"})
    assert renamed.status_code == 200, renamed.get_json()
    while not any(b"event: room.updated" in chunk for chunk in woken) and time.monotonic() < deadline:
        time.sleep(0.01)
    subscriber.close()
    reader.join(10)
    assert [frame for frame in socket.written if b'"body":"straight out"' in frame], socket.written
    assert not any(b"event: message.created" in chunk for chunk in woken), woken
    assert any(b"event: room.updated" in chunk for chunk in woken), woken


def test_a_presence_batch_goes_to_a_waiting_stream_s_socket_once_and_after_what_a_busy_one_holds() -> None:
    """Every stream of a process gets each presence batch: connecting 1,000 streams woke each of them
    once per batch to write the same frame (issue 13's connect CPU). A stream waiting with nothing
    queued has the batch's one shared frame written for it; one with something queued gets the
    batch after that, in order."""
    waiting, busy = Subscriber(max_queue=10), Subscriber(max_queue=10)
    for user_id, stream in enumerate((waiting, busy), start=1):
        stream.start(user_id, None, {7: "member"}, 0)
    written: list[Delivery] = []

    def write(_: Subscriber, delivery: Delivery) -> bool:
        written.append(delivery)
        return True

    waiting.write_now = write
    busy.write_now = lambda _, delivery: False  # a busy stream's own greenlet writes
    busy.keep_alive()
    taker = threading.Thread(target=waiting.take, daemon=True)
    taker.start()
    deadline = time.monotonic() + 5
    while not waiting.parked and time.monotonic() < deadline:
        time.sleep(0.01)

    offered = presence.batch([{"user_id": 4, "online": True, "last_seen_at": None}], [frozenset({7})])
    for stream in (waiting, busy):
        stream.offer(offered)

    assert written == [offered.narrowed(1, {7: "member"})]
    assert written[0] is offered.narrowed(2, {7: "member"})  # one frame for both: made once
    assert busy.take() == [hub.KEEPALIVE, offered.narrowed(2, {7: "member"})]
    assert waiting.parked and taker.is_alive()  # never woken
    waiting.close()
    taker.join(5)
    assert not taker.is_alive()


def test_idle_streams_get_their_keep_alives_a_slice_at_a_time(app, client, alice, bob, carol, monkeypatch):
    """Every idle stream's keep-alive at once woke 5,000 streams per worker in one go, and a message
    arriving then waited for all of them to write; a slice at a time, it waits for one slice."""
    monkeypatch.setitem(app.config, "EVENTS_KEEPALIVE_SECONDS", 1.0)
    monkeypatch.setattr(hub, "KEEPALIVE_SLICE", 1)
    monkeypatch.setattr(hub, "KEEPALIVE_PAUSE_SECONDS", 0.1)
    handed: list[float] = []
    keep_alive = Subscriber.keep_alive

    def timed(subscriber: Subscriber) -> None:
        handed.append(time.monotonic())
        keep_alive(subscriber)

    monkeypatch.setattr(Subscriber, "keep_alive", timed)

    def checks() -> list[list[float]]:
        """The keep-alives handed out, grouped by check (a second apart)."""
        grouped: list[list[float]] = []
        for at in list(handed):
            if grouped and at - grouped[-1][-1] < 0.5:
                grouped[-1].append(at)
            else:
                grouped.append([at])
        return grouped

    with streams_of(client, alice, bob, carol):
        deadline = time.monotonic() + 6
        while not any(len(check) == 3 for check in checks()) and time.monotonic() < deadline:
            time.sleep(0.05)  # a stream told of presence just before a check is busy, and skips it
    every = [check for check in checks() if len(check) == 3]
    assert every, handed
    assert min(later - earlier for earlier, later in itertools.pairwise(every[0])) >= 0.09, handed


def test_a_presence_renewal_writes_a_slice_of_users_a_round_trip(app, processes, monkeypatch):
    """5,000 users' entries renewed in one pipeline held a worker's loop (and every delivery behind
    it) for a quarter of a second while redis-py packed and parsed 15,000 commands; between two
    slices' round trips the loop delivers."""
    store = redis.Redis.from_url(start_redis(processes))
    own = Presence(app, LocalBroker(Hub(app)), store)
    own.local.update(range(1, 8))
    monkeypatch.setattr(presence, "RENEW_SLICE", 3)
    trips: list[int] = []
    execute = Pipeline.execute

    def counted(pipeline: Pipeline, *args: Any, **kwargs: Any) -> Any:
        trips.append(len(pipeline))
        return execute(pipeline, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "execute", counted)
    with app.app_context():
        own._renew(store, recovered=False)
    assert trips == [9, 9, 3]  # three commands a user
    assert all(store.zscore(own._key(user_id), PROCESS) for user_id in range(1, 8))
    store.close()
