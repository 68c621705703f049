"""Redis stopping and coming back under two Parley processes: nothing a client does fails meanwhile.

The test runs its own redis-server, kills it mid-test and starts it again, empty, on the same
port. While it is down, events reach the other instance through the outbox poll (every second
by default), typing and presence reach the streams of the instance they happen on, and
`/readyz` says `degraded`; once it is back, presence settles everywhere, and each instance has
logged the outage in two lines, without a traceback.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest
import redis

from tests.processes import Processes
from tests.servers import Account, Parley, create_room, kill, send, start_parley, start_redis
from tests.streams import DEADLINE, PRESENCE, Stream, leave_a_stream, presence_told

# Keep-alives every 0.2 s: a stream whose client left is noticed at once.
FAST = {"PARLEY_EVENTS_KEEPALIVE": "0.2", "PARLEY_EVENTS_POLL": "1", **PRESENCE}


def presence(parley: Parley, viewer: Account, user: Account) -> str:
    with parley.client(viewer.token, timeout=5) as http:
        return http.get(f"/api/v1/users/{user.id}").json()["presence"]


def eventually(condition: Callable[[], bool], what: str, parley: Parley) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {DEADLINE} s\n{parley.service.output()[-3000:]}")
        time.sleep(0.05)


def poll_messages(http: httpx.Client, since: int) -> list[int]:
    """Long-poll until messages come: a poll may answer first with presence (carol's own: she polls)."""
    for _ in range(3):
        answer = http.get("/api/v1/events/poll", params={"since": since, "timeout": 10})
        assert answer.status_code == 200, answer.text
        found = [e["data"]["id"] for e in answer.json()["events"] if e["type"] == "message.created"]
        if found:
            return found
        since = answer.json()["last_event_id"]
    return []


def test_streams_typing_and_long_polls_work_while_redis_is_down_and_presence_settles_when_it_is_back(
    processes: Processes, server_database: str
) -> None:
    redis_url = start_redis(processes)
    with ThreadPoolExecutor(2) as pool:  # A migrates the database; B, the development server, waits
        starting_a = pool.submit(
            start_parley,
            processes,
            "parley-a",
            server_database,
            gunicorn=True,
            REDIS_URL=redis_url,
            extra_env=FAST,
        )
        starting_b = pool.submit(
            start_parley,
            processes,
            "parley-b",
            server_database,
            REDIS_URL=redis_url,
            PARLEY_AUTO_MIGRATE="0",
            extra_env=FAST,
        )
        a, b = starting_a.result(), starting_b.result()
    alice, bob, carol = a.sign_up("alice"), a.sign_up("bob"), a.sign_up("carol")
    room = create_room(a, alice, "outage", ["bob", "carol"])
    watcher = Stream(b, alice.token, name="alice on B")

    kill(next(service for service in processes.started if service.name == "redis"))

    with a.client(timeout=5) as http:
        ready = http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "degraded", "checks": {"database": "ok", "redis": "unreachable"}}

    carols = Stream(a, carol.token, name="carol on A")
    with a.client(bob.token, timeout=5) as http:
        assert http.post(f"/api/v1/rooms/{room}/typing").status_code == 204
    carols.wait_until(lambda s: any(f.type == "typing" for f in s.frames), "bob typing, on A")

    with a.client(bob.token, timeout=10) as from_a, b.client(carol.token, timeout=10) as from_b:
        sent = send(from_a, room, "while Redis is down")
        watcher.wait_for_message(sent)  # on B: through the outbox poll
        since = watcher.stored_frames()[-1].id
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(poll_messages, from_b, since)
            time.sleep(0.3)
            later = send(from_a, room, "to a long-poll")
            assert later in waiting.result()

    leave_a_stream(a, bob)  # online on A, then offline, though Redis heard neither

    start_redis(processes, port=urlsplit(redis_url).port, name="redis-again")

    # Carol's stream on A never stopped: B hears again that she is online, and shows her so.
    eventually(lambda: presence(b, alice, carol) == "online", "carol online, seen from B", b)
    watcher.wait_until(lambda s: presence_told(s, carol)[-1:] == [True], "carol online, on B's stream")
    for parley in (a, b):
        assert presence(parley, alice, bob) == "offline"
    with a.client(timeout=5) as http:
        assert http.get("/readyz").json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}

    for parley in (a, b):
        log = parley.service.output()
        assert log.count("Redis: unreachable") == 1, log[-6000:]
        assert log.count("Redis: answers again") == 1, log[-6000:]
        assert "Traceback" not in log, log[-6000:]
    assert watcher.error is None and carols.error is None, f"{watcher.describe()}\n{carols.describe()}"


def test_a_stream_opens_without_waiting_for_redis_and_its_user_is_announced_once_redis_answers(
    processes: Processes, server_database: str
) -> None:
    """A user's first stream writes its presence entry in the background, with those of every stream
    opened meanwhile: opening a stream never waits for a Redis round trip (a thousand at once made a
    thousand round trips)."""
    redis_url = start_redis(processes)
    parley = start_parley(
        processes, "parley", server_database, gunicorn=True, REDIS_URL=redis_url, extra_env=FAST
    )
    alice, bob = parley.sign_up("alice"), parley.sign_up("bob")
    create_room(parley, alice, "slow Redis", ["bob"])
    watcher = Stream(parley, bob.token, name="bob")
    watcher.wait_until(lambda s: presence_told(s, bob) == [True], "bob online, on his own stream")

    pause = 4.0
    with redis.Redis.from_url(redis_url) as client:
        client.execute_command("CLIENT", "PAUSE", int(pause * 1000), "WRITE")  # writes wait; reads answer
    started = time.monotonic()
    alices = Stream(parley, alice.token, name="alice")
    assert time.monotonic() - started < pause / 2, "the stream waited for Redis to take writes again"

    watcher.wait_until(lambda s: presence_told(s, alice) == [True], "alice online, once Redis writes again")
    assert presence(parley, bob, alice) == "online"
    assert watcher.error is None and alices.error is None, f"{watcher.describe()}\n{alices.describe()}"
