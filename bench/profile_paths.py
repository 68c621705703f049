"""CPU per request of the query hot paths, in-process: what the HTTP benchmark cannot separate.

The Flask test client drives the app in this process (no server, no network, no other
worker), so `time.process_time()` around each request is the app's own cost: routing,
authentication, the queries and their building, the dumping. Growth: `--messages` and
`--users` add rows in bulk (Core inserts, as bench/fixtures.py's `grow`) before measuring,
so running at 10³ and 10⁶ shows whether a path's cost follows the table size.

The app does what a production worker does per request: the rate limiter counts writes, and
the app's own objects are frozen out of garbage collection (gunicorn.conf.py). CPU time moves
with the machine's load; the Python calls per request, printed beside it, do not.

    .venv/bin/python -m bench.profile_paths                       # a fresh SQLite file
    .venv/bin/python -m bench.profile_paths --messages 1000000 --users 100000
    .venv/bin/python -m bench.profile_paths --database postgresql+psycopg://…/scratch
    .venv/bin/python -m bench.profile_paths --profile history     # the cProfile of one path

A PostgreSQL database given with `--database` must be an empty throwaway one.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import bindparam, insert, text, update

PASSWORD = "profile-paths-password"  # noqa: S105
ROOMS = 50  # the user's rooms, `general` included
HISTORY_PAGE = 20  # messages per history request
BATCH = 10_000  # rows per bulk insert
WORDS = ("hello", "lunch", "deploy", "review", "coffee", "release", "meeting", "question")


def make_app(database: str) -> Flask:
    """The testing configuration with production's per-request work: writes counted (never refused)."""
    from app import create_app
    from app.provisioning import prepare_database
    from bench.http import UNLIMITED_WRITES

    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=database,
        LOG_LEVEL="WARNING",
        RATELIMIT_ENABLED=True,
        USER_WRITE_RATE_LIMIT=UNLIMITED_WRITES,
    )
    prepare_database(app)
    return app


def sign_up(client: FlaskClient, username: str) -> dict[str, str]:
    """A user made through the API, and the headers carrying their token."""
    assert client.post("/api/v1/users", json={"username": username, "password": PASSWORD}).status_code == 201
    form = {"grant_type": "password", "client_id": "documentation", "username": username}
    form["password"] = PASSWORD
    token = client.post("/auth/oauth2/token", data=form).get_json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def populate(client: FlaskClient) -> dict[str, Any]:
    """The measured user in ROOMS rooms with a peer, a message in each and a page of them in the first."""
    me, peer = sign_up(client, "profiler"), sign_up(client, "peer")
    room_ids = []
    for number in range(ROOMS - 1):
        asked = {"name": f"room {number}", "members": ["profiler"]}
        room = client.post("/api/v1/rooms", headers=peer, json=asked)
        room_ids.append(room.get_json()["id"])
    for room_id in [*room_ids, *[room_ids[0]] * (HISTORY_PAGE - 1)]:  # a full history page in the first
        client.post(f"/api/v1/rooms/{room_id}/messages", headers=peer, json={"body": "hello there"})
    return {"me": me, "room_id": room_ids[0], "room_ids": room_ids}


# Message i: in the measured room when i is even, else in the user's other rooms in turn; its
# body one of WORDS and its number. Both engines read WITH RECURSIVE before an INSERT.
_WORDS = ", ".join(f"({k}, '{word}')" for k, word in enumerate(WORDS))
MESSAGES_FROM_A_SERIES = text(
    "WITH RECURSIVE series(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM series WHERE i + 1 < :count), "  # noqa: S608
    f"words(k, word) AS (VALUES {_WORDS}), "
    "others(k, id) AS (SELECT row_number() OVER (ORDER BY rooms.id) - 1, rooms.id FROM rooms "
    "  JOIN memberships ON memberships.room_id = rooms.id AND memberships.user_id = :author "
    "  WHERE rooms.id != :measured AND rooms.kind != 'public') "
    "INSERT INTO messages (room_id, author_id, body, created_at) "
    "SELECT CASE WHEN i % 2 = 0 THEN :measured ELSE others.id END, :author, "
    "  words.word || ' number ' || i, :now "
    "FROM series JOIN words ON words.k = i % :words JOIN others ON others.k = (i / 2) % :others "
    "WHERE :count > 0"
)


def grow(app: Flask, room_ids: list[int], messages: int, users: int) -> None:
    """`messages` more in the user's rooms (half in the measured one), `users` more in `general`.

    The user has read them all: unread counts are about what is new, not about table size.
    """
    from app.extensions.database import db, utcnow
    from app.modules.messages.models import Message
    from app.modules.rooms.models import Membership, Room
    from app.modules.rooms.services import general_room
    from app.modules.users.models import User

    with app.app_context():
        now = utcnow() - timedelta(minutes=5)
        general = general_room()
        assert general is not None  # made with the database
        first = db.session.scalar(text("SELECT coalesce(max(id), 0) FROM users"))
        for start in range(0, users, BATCH):
            names = [f"grown{first + i:07d}" for i in range(start, min(users, start + BATCH))]
            ids = db.session.scalars(
                insert(User).returning(User.id, sort_by_parameter_order=True),
                [
                    {"username": n, "username_key": n, "display_name": n.title(), "created_at": now}
                    for n in names
                ],
            ).all()
            db.session.execute(
                insert(Membership), [{"room_id": general.id, "user_id": i, "joined_at": now} for i in ids]
            )
            grown = Room.member_count + len(ids)
            db.session.execute(update(Room).where(Room.id == general.id).values(member_count=grown))
        author = db.session.scalar(text("SELECT id FROM users WHERE username_key = 'peer'"))
        # One statement, the rows made by the database: 10⁶ rows sent from here took minutes.
        created_at = bindparam("now", type_=Message.__table__.c.created_at.type)
        values = {"count": messages, "author": author, "now": now, "measured": room_ids[0]}
        db.session.execute(
            MESSAGES_FROM_A_SERIES.bindparams(created_at),
            {**values, "others": len(room_ids) - 1, "words": len(WORDS)},
        )
        newest = db.session.scalar(text("SELECT max(id) FROM messages"))
        db.session.execute(update(Membership).values(last_read_message_id=newest))
        db.session.execute(update(Room).where(Room.id.in_(room_ids)).values(last_message_id=newest))
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()


def paths(setup: dict[str, Any]) -> dict[str, Callable[[FlaskClient], Any]]:
    me, room_id = setup["me"], setup["room_id"]
    history = f"/api/v1/rooms/{room_id}/messages"
    bodies = (f"message {number}" for number in range(10**9))
    return {
        "healthz": lambda c: c.get("/healthz"),  # the fixed cost every request pays
        "users/me": lambda c: c.get("/api/v1/users/me", headers=me),
        "history": lambda c: c.get(f"{history}?limit={HISTORY_PAGE}", headers=me),
        "rooms": lambda c: c.get("/api/v1/rooms?page_size=50", headers=me),
        "post": lambda c: c.post(history, headers=me, json={"body": next(bodies)}),
        "search": lambda c: c.get("/api/v1/messages/search?q=there", headers=me),
        "user search": lambda c: c.get("/api/v1/users?q=pro", headers=me),
    }


@dataclass(frozen=True)
class Sample:
    """Median ms per request: CPU time of this process, and wall time (a PostgreSQL server's work too)."""

    cpu_ms: float
    wall_ms: float


def measure(client: FlaskClient, request: Callable[[FlaskClient], Any], repeat: int) -> Sample:
    """Medians over `repeat` requests, after a warm-up (statement caches, first connections)."""
    for _ in range(max(10, repeat // 4)):
        assert request(client).status_code < 300
    cpus, walls = [], []
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        response = request(client)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
        assert response.status_code < 300, response.get_json()
    return Sample(statistics.median(cpus) * 1000, statistics.median(walls) * 1000)


def calls(client: FlaskClient, request: Callable[[FlaskClient], Any], repeat: int = 10) -> int:
    """Python function calls per request: unlike CPU time, the same on a busy machine as on a quiet one."""
    profiler = cProfile.Profile()
    for _ in range(repeat):
        profiler.runcall(request, client)
    return round(pstats.Stats(profiler).total_calls / repeat)  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="an empty throwaway database URL (default: a fresh SQLite file)")
    parser.add_argument("--messages", type=int, default=0, help="messages added in bulk")
    parser.add_argument("--users", type=int, default=0, help="users added to `general` in bulk")
    parser.add_argument("--repeat", type=int, default=200, help="requests measured per path")
    parser.add_argument("--profile", help="print the cProfile of this path instead")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        app = make_app(args.database or f"sqlite:///{os.path.join(scratch, 'profile.db')}")
        client = app.test_client()
        setup = populate(client)
        grow(app, setup["room_ids"], args.messages, args.users)
        measured = paths(setup)
        gc.freeze()  # as gunicorn.conf.py's post_worker_init: collections skip the app's own objects
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(measure, client, measured[args.profile], args.repeat)
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(40)
            return
        print(f"{args.messages} extra messages, {args.users} extra users, median of {args.repeat}")
        for name, request in measured.items():
            cpu, counted = measure(client, request, args.repeat).cpu_ms, calls(client, request)
            print(f"{name:12} {cpu:7.2f} ms CPU/request {counted:8,} calls/request")


if __name__ == "__main__":
    main()
