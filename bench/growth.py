"""Growth check: do the reads that must not follow the table size stay flat from 10³ to 10⁶ messages?

For each size, a fresh database gets bench/profile_paths.py's setup (the measured user in 50
rooms, a page of history) plus that many messages in bulk, half of them in the measured room,
and as many users (at most 10⁵) in `general`. Then, in process, the median time per request of
the history page, the rooms list, message search and user search. Each must stay within
`LIMIT` times from the smallest size to the largest (issue 17). The check reads CPU time, which
moves less with the machine's load than wall time: on SQLite this process's, which holds the
database's work; on PostgreSQL this process's plus the server's, read from /proc (the server
processes serving the app, so only a server on this machine: else the check reads wall time).

Message search looks for a word of the setup's messages, which the grown ones never contain: the
rows a search returns and counts do not grow with the table, the table does. A word in one grown
message of eight (`--common`, shown apart, not part of the check) measures the other thing:
ranking and counting every match, which grows with the matches whatever the plan.

    .venv/bin/python -m bench.growth                                 # SQLite, about 4 minutes
    .venv/bin/python -m bench.growth --database postgresql+psycopg://…/scratch
    .venv/bin/python -m bench.growth --sizes 1000,10000 --repeat 50  # a quick look

A PostgreSQL database must be a throwaway one: its `public` schema is dropped before each size.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text

from bench.http import _revision, progress
from bench.profile_paths import HISTORY_PAGE, Sample, grow, make_app, measure, populate

LIMIT = 1.5  # largest size / smallest, per request
SIZES = (1_000, 100_000, 1_000_000)
MAX_USERS = 100_000
COMMON_WORD = "deploy"  # in one grown message of eight (profile_paths.WORDS)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", None)  # a server whose processes /proc shows


@dataclass(frozen=True)
class Timed:
    """A path's medians: this process's (`sample`), and the database server's CPU ms per request."""

    sample: Sample
    server_ms: float | None

    def checked(self, engine: str) -> float:
        """What the growth check compares: CPU time where it can be read, else wall time."""
        if engine == "SQLite":
            return self.sample.cpu_ms
        return self.sample.wall_ms if self.server_ms is None else self.sample.cpu_ms + self.server_ms

    def __str__(self) -> str:
        server = "" if self.server_ms is None else f" + {self.server_ms:.2f}"
        return f"{self.sample.wall_ms:.2f} ms ({self.sample.cpu_ms:.2f}{server})"


class ServerClock:
    """CPU seconds of the PostgreSQL processes serving the app, from /proc/<pid>/schedstat.

    The database is a throwaway one: every client backend connected to it but this clock's own
    serves the app (autovacuum, busy after a bulk insert, is not counted). `watch` looks them up
    once the app's connections are open.
    """

    def __init__(self, database: str) -> None:
        self.engine = create_engine(database)
        self.pids: list[int] = []

    def watch(self) -> None:
        with self.engine.connect() as connection:
            self.pids = list(
                connection.scalars(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
                    )
                )
            )

    def __call__(self) -> float:
        total = 0
        for pid in self.pids:
            with open(f"/proc/{pid}/schedstat") as schedstat:  # nanoseconds on a core, first
                total += int(schedstat.read().split()[0])
        return total / 1e9

    def timed(self, client: FlaskClient, request: Callable[[FlaskClient], Any], repeat: int) -> Timed:
        """`measure`'s medians, and the server's median CPU time over the same requests."""
        request(client)  # the app's connections open
        self.watch()
        spent: list[float] = []

        def watched(c: FlaskClient) -> Any:
            before = self()
            try:
                return request(c)
            finally:
                spent.append(self() - before)

        sample = measure(client, watched, repeat)
        return Timed(sample, statistics.median(spent[-repeat:]) * 1000)


def server_clock(database: str) -> ServerClock | None:
    """A clock of the server's CPU time for a PostgreSQL server on this machine, else none."""
    if not database.startswith("postgresql") or make_url(database).host not in LOCAL_HOSTS:
        return None
    return ServerClock(database)


def requests(setup: dict[str, Any], common: bool) -> dict[str, Callable[[FlaskClient], Any]]:
    me, history = setup["me"], f"/api/v1/rooms/{setup['room_id']}/messages?limit={HISTORY_PAGE}"
    measured = {
        "history page of 20": lambda c: c.get(history, headers=me),
        "rooms list (50 rooms)": lambda c: c.get("/api/v1/rooms?page_size=50", headers=me),
        "message search": lambda c: c.get("/api/v1/messages/search?q=there", headers=me),
        "user search": lambda c: c.get("/api/v1/users?q=pro", headers=me),
    }
    if common:
        measured[f"message search, common word ({COMMON_WORD})"] = lambda c: c.get(
            f"/api/v1/messages/search?q={COMMON_WORD}", headers=me
        )
    return measured


def empty(database: str) -> None:
    """A throwaway PostgreSQL database back to nothing, so that each size starts from the migrations."""
    if not database.startswith("postgresql"):
        return
    engine = create_engine(database, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def measure_size(database: str, messages: int, repeat: int, common: bool) -> dict[str, Timed]:
    from app.extensions.database import db

    empty(database)
    app = make_app(database)
    client = app.test_client()
    setup = populate(client)
    users = min(messages, MAX_USERS)
    started = time.monotonic()
    grow(app, setup["room_ids"], messages, users)
    progress(f"{messages:,} messages, {users:,} users: inserted in {time.monotonic() - started:.0f} s")
    clock = server_clock(database)
    gc.freeze()
    try:
        timed = {}
        for name, request in requests(setup, common).items():
            # A common word's search takes seconds at 10⁶ messages: a few requests show that.
            times = repeat if "common word" not in name else 5
            if clock is None:
                timed[name] = Timed(measure(client, request, times), None)
            else:
                timed[name] = clock.timed(client, request, times)
        return timed
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if clock is not None:
            clock.engine.dispose()
        gc.unfreeze()


def render(results: dict[int, dict[str, Timed]], engine: str, command: str) -> str:
    sizes = sorted(results)
    smallest, largest = sizes[0], sizes[-1]
    header = " | ".join(f"{size:,} msgs" for size in sizes)
    with_server = any(timed.server_ms is not None for timed in results[smallest].values())
    if engine == "SQLite":
        shown, check = "this process's CPU time", "CPU time"
    elif with_server:
        shown, check = "this process's CPU time + the server's", "the sum of both CPU times"
    else:
        shown, check = "this process's CPU time", "wall time"
    lines = [
        f"{engine}, Parley at `{_revision()}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: `{command}`. "
        f"Median per request, wall time ({shown}), the check on {check}; users in `general`: "
        + ", ".join(f"{min(size, MAX_USERS):,}" for size in sizes)
        + ".",
        "",
        f"| request | {header} | {largest:,} / {smallest:,} | within {LIMIT:g} x |",
        "|---|" + "---:|" * (len(sizes) + 2),
    ]
    for name in results[smallest]:
        cells = [str(results[size][name]) for size in sizes]
        ratio = results[largest][name].checked(engine) / results[smallest][name].checked(engine)
        verdict = "(not checked)" if "common word" in name else ("yes" if ratio <= LIMIT else "**no**")
        lines.append(f"| {name} | {' | '.join(cells)} | {ratio:.2f} | {verdict} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="a throwaway PostgreSQL URL (default: SQLite files)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="messages added, per run")
    parser.add_argument("--repeat", type=int, default=100, help="requests measured per path and size")
    parser.add_argument("--common", action="store_true", help=f"also search a common word ({COMMON_WORD})")
    args = parser.parse_args(argv)
    sizes = sorted(int(size) for size in args.sizes.split(","))

    results: dict[int, dict[str, Timed]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for size in sizes:
            database = args.database or f"sqlite:///{os.path.join(scratch, f'growth-{size}.db')}"
            results[size] = measure_size(database, size, args.repeat, args.common)
            timed = results[size].items()
            progress(f"{size:,}: " + ", ".join(f"{name} {times}" for name, times in timed))
            if not args.database:
                os.unlink(database.removeprefix("sqlite:///"))
    engine = "PostgreSQL" if args.database else "SQLite"
    words = ["python -m bench.growth"] + (["--database <throwaway>"] if args.database else [])
    if args.sizes != parser.get_default("sizes"):
        words.append(f"--sizes {args.sizes}")
    words += [f"--repeat {args.repeat}"] if args.repeat != 100 else []
    words += ["--common"] if args.common else []
    print(render(results, engine, " ".join(words)), end="")


if __name__ == "__main__":
    main()
