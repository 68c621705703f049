"""The database pool under pressure, in real server processes with one pooled connection.

The servers run with `PARLEY_DB_POOL_SIZE=1`, no overflow and a half-second pool timeout. The
test itself holds the database's write lock (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: an
exclusive lock on `messages`), so that a message being sent waits for it while holding that
one connection: every other request then finds the pool exhausted, deterministically.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from tests.conftest import new_server_database
from tests.processes import Processes
from tests.servers import Account, Parley, create_room, start_parley

# Rate limits and the scheduler off: their writes would queue behind the test's lock, holding
# the one connection the test means a message to hold.
SMALL_POOL = {
    "PARLEY_SCHEDULER": "0",
    "PARLEY_DB_POOL_SIZE": "1",
    "PARLEY_DB_MAX_OVERFLOW": "0",
    "PARLEY_DB_POOL_TIMEOUT": "0.5",
    "PARLEY_RATELIMIT_ENABLED": "0",
}


@pytest.fixture(scope="module", params=["server.py", "gunicorn"])
def small_pool(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Parley, str]]:
    """A server with a pool of one connection, and its database.

    The development server runs a thread per request; gunicorn's gevent worker runs them all
    on one thread, which only PostgreSQL's driver leaves free while a query waits (a SQLite
    call waiting for the lock would stall the whole worker, pool and all).
    """
    gunicorn = request.param == "gunicorn"
    if gunicorn and not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("gevent workers are for PostgreSQL: a wait for SQLite's lock stalls the worker")
    with new_server_database(request, tmp_path_factory.mktemp("pool")) as url:
        processes = Processes(tmp_path_factory.mktemp("pool-logs"))
        try:
            yield start_parley(processes, "parley", url, gunicorn=gunicorn, extra_env=SMALL_POOL), url
        finally:
            processes.stop_all()


@contextlib.contextmanager
def write_lock(database_url: str) -> Iterator[Callable[[], bool]]:
    """Hold the lock a message's insert needs, from outside the server.

    Yields a probe telling whether a server request is already queued behind the lock, and so
    holding its one pooled connection: before that, a request of the test's own could take the
    connection first and leave the message to find the pool exhausted.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None  # the path of the file the servers share
        sqlite_connection = sqlite3.connect(url.database, isolation_level=None)
        sqlite_connection.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        try:
            # SQLite shows no waiters: a writer retrying its busy timeout is invisible.
            yield lambda: time.monotonic() - started > 0.5
        finally:
            sqlite_connection.rollback()
            sqlite_connection.close()
        return
    engine = create_engine(url, poolclass=NullPool)
    waiting = text("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'messages'::regclass")
    try:
        with engine.connect() as connection:
            connection.execute(text("LOCK TABLE messages IN EXCLUSIVE MODE"))
            with engine.connect() as observer:
                yield lambda: bool(observer.execute(waiting).scalar())
            connection.rollback()
    finally:
        engine.dispose()


def wait_for(condition: Callable[[], bool], seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the message never queued behind the lock"
        time.sleep(0.02)


def me(parley: Parley, user: Account) -> httpx.Response:
    with parley.client(user.token, timeout=10) as http:
        return http.get("/api/v1/users/me")


def post_message(parley: Parley, user: Account, room: int) -> httpx.Response:
    with parley.client(user.token, timeout=10) as http:
        return http.post(f"/api/v1/rooms/{room}/messages", json={"body": "waits for the lock"})


def test_a_request_finding_the_pool_exhausted_is_a_503_with_retry_after_logged_once(
    small_pool: tuple[Parley, str],
) -> None:
    parley, database_url = small_pool
    alice = parley.sign_up("alice")
    room = create_room(parley, alice, "pool", [])
    with ThreadPoolExecutor(1) as pool:
        with write_lock(database_url) as message_waits:
            sending = pool.submit(post_message, parley, alice, room)  # holds the connection, waiting
            wait_for(message_waits)
            answers: list[httpx.Response] = []
            deadline = time.monotonic() + 2.5  # with the wait above, well within SQLite's 5 s busy timeout
            while sum(a.status_code == 503 for a in answers) < 2 and time.monotonic() < deadline:
                answers.append(me(parley, alice))
        assert sending.result().status_code == 201, sending.result().text
    assert {a.status_code for a in answers} <= {200, 503}, [a.text for a in answers]
    refused = [a for a in answers if a.status_code == 503]
    assert len(refused) == 2, "no request found the pool of one connection busy"
    for answer in refused:
        assert answer.elapsed.total_seconds() < 2.5, (
            "waited for a connection far longer than the pool timeout"
        )
        assert answer.headers["Retry-After"] == "2"
        assert answer.json() == {
            "code": 503,
            "status": "Service Unavailable",
            "message": "The server is busy; retry after the Retry-After delay.",
        }
    assert me(parley, alice).status_code == 200
    log = parley.service.output()
    assert log.count("database: pool exhausted") == 1, log[-4000:]
    assert "Traceback" not in log, log[-4000:]


def test_a_waiting_long_poll_holds_no_database_connection(small_pool: tuple[Parley, str]) -> None:
    parley, _ = small_pool
    bob = parley.sign_up("bob")
    with ThreadPoolExecutor(1) as pool, parley.client(bob.token, timeout=10) as http:
        polling = pool.submit(http.get, "/api/v1/events/poll", params={"timeout": 2})
        time.sleep(0.5)  # subscribed, and waiting for events
        assert [me(parley, bob).status_code for _ in range(3)] == [200] * 3
        assert polling.result().status_code == 200


def test_sends_queueing_for_a_room_leave_the_pool_to_other_requests(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Three sends to one room and a pool of two: only the first waits in the database.

    A room's sends take turns (its history must follow commit order); before, each waited on
    a pooled connection of its own, so a busy room left none for anything else (the PostgreSQL
    soak's 503s). Now the others wait in the process with none: the pool still serves.
    """
    gunicorn = bool(os.environ.get("TEST_DATABASE_URL"))  # the production worker, where it can wait
    # A pool timeout with room for a loaded machine: the two later sends read on one connection.
    settings = SMALL_POOL | {"PARLEY_DB_POOL_SIZE": "2", "PARLEY_DB_POOL_TIMEOUT": "1.5"}
    with new_server_database(request, tmp_path_factory.mktemp("queue")) as url:
        processes = Processes(tmp_path_factory.mktemp("queue-logs"))
        try:
            parley = start_parley(processes, "parley", url, gunicorn=gunicorn, extra_env=settings)
            alice = parley.sign_up("alice")
            room = create_room(parley, alice, "queue", [])
            with ThreadPoolExecutor(3) as pool:
                with write_lock(url) as message_waits:
                    sending = [pool.submit(post_message, parley, alice, room)]
                    wait_for(message_waits)
                    sending += [pool.submit(post_message, parley, alice, room) for _ in range(2)]
                    time.sleep(1.7)  # in, and past the pool timeout had they waited on connections
                    answers = [me(parley, alice).status_code for _ in range(3)]
                sent = [future.result() for future in sending]
            assert answers == [200] * 3, "a send waiting for the room held a second connection"
            assert [answer.status_code for answer in sent] == [201] * 3, [answer.text for answer in sent]
        finally:
            processes.stop_all()


def test_a_write_that_outwaits_sqlite_s_busy_timeout_is_a_busy_503_and_no_outage(
    small_pool: tuple[Parley, str],
) -> None:
    """A transaction that loses to another (SQLite's lock held past its 5 s busy timeout; on
    PostgreSQL a deadlock or serialization failure) is answered as a busy server, and the database
    stays ready: it answers, and the retry may succeed. An outage's line and readiness are for a
    database that does not answer."""
    parley, database_url = small_pool
    if make_url(database_url).get_backend_name() != "sqlite":
        pytest.skip("PostgreSQL waits for its locks: a held lock times nothing out")
    carol = parley.sign_up("carol")
    room = create_room(parley, carol, "busy", [])
    with write_lock(database_url):
        refused = post_message(parley, carol, room)
    assert refused.status_code == 503, refused.text
    assert refused.headers["Retry-After"] == "2"
    assert refused.json()["message"] == "The server is busy; retry after the Retry-After delay."
    with parley.client() as http:
        ready = http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok", ready.text
    assert post_message(parley, carol, room).status_code == 201
    log = parley.service.output()
    assert log.count("database: a transaction lost to another (database is locked)") == 1, log[-4000:]
    assert "database: unreachable" not in log and "Traceback" not in log, log[-4000:]
