"""The query hot paths: what they must not do as tables grow, and the counters that spare them work."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import flask_migrate
import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.provisioning import MIGRATIONS_DIR, prepare_database
from tests.assertions import ok
from tests.concurrency import at_once
from tests.rooms import create_room, room_path
from tests.statements import counted_statements

ROOMS = "/api/v1/rooms"
THEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
# A statement that counts a room's members: what listing rooms did once per call, per room.
COUNTS_MEMBERS = re.compile(
    r"count\(\*\)(\s+AS\s+\w+)?\s+FROM\s+memberships\s+WHERE\s+memberships\.room_id", re.IGNORECASE
)


def members_listed(client, viewer, room_id: int) -> int:
    return len(
        ok(client.get(room_path(room_id, "members"), headers=viewer.headers, query_string={"page_size": 100}))
    )


def test_member_count_stays_right_under_concurrent_joins_and_leaves(client, live_server, alice, make_user):
    room = create_room(client, alice, kind="public")
    early = [make_user(f"early{number}") for number in range(4)]
    late = [make_user(f"late{number}") for number in range(4)]
    answers = at_once(live_server, [(user, "POST", room_path(room["id"], "join"), None) for user in early])
    assert {answer.status_code for answer in answers} == {200}
    joins = [(user, "POST", room_path(room["id"], "join"), None) for user in late]
    leaves = [(user, "DELETE", room_path(room["id"], "members", "me"), None) for user in early]
    repeats = [(early[0], "DELETE", room_path(room["id"], "members", "me"), None)] * 2
    answers = at_once(live_server, joins + leaves + repeats)
    codes = Counter(answer.status_code for answer in answers)
    assert (codes[200], codes[204], codes[403] + codes[404]) == (4, 4, 2), codes  # the repeats: gone
    shown = ok(client.get(room_path(room["id"]), headers=alice.headers))["member_count"]
    assert shown == members_listed(client, alice, room["id"]) == 1 + len(late)


def test_listing_rooms_counts_no_room_s_members(app, client, alice, bob):
    create_room(client, alice, members=["bob"])
    with counted_statements(app) as statements:
        listed = ok(client.get(ROOMS, headers=alice.headers))
    assert sorted(room["member_count"] for room in listed) == [2, 2]  # general and the new room
    assert not [statement for statement in statements if COUNTS_MEMBERS.search(statement)]


def seed_rooms_before_0013(connection: sa.Connection) -> dict[str, int]:
    """Two rooms, one with three members and one with none, as revision 0012 stored them."""
    tables = sa.MetaData()
    tables.reflect(connection, only=["rooms", "memberships", "users"])
    rooms, memberships, users = (tables.tables[name] for name in ("rooms", "memberships", "users"))
    ids = {}
    for name in ("busy", "empty"):
        ids[name] = connection.execute(
            rooms.insert()
            .values(name=name, topic="", kind="public", created_at=THEN, last_activity_at=THEN)
            .returning(rooms.c.id)
        ).scalar_one()
    for number in range(3):
        user_id = connection.execute(
            users.insert()
            .values(username=f"old{number}", username_key=f"old{number}", created_at=THEN)
            .returning(users.c.id)
        ).scalar_one()
        connection.execute(
            memberships.insert().values(room_id=ids["busy"], user_id=user_id, role="member", joined_at=THEN)
        )
    return ids


def test_upgrading_to_0013_counts_the_members_rooms_already_have(server_database):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=server_database)
    with app.app_context():
        flask_migrate.upgrade(directory=MIGRATIONS_DIR, revision="0012")
        with db.engine.begin() as connection:
            ids = seed_rooms_before_0013(connection)
        prepare_database(app)
        with db.engine.connect() as connection:
            counts: dict[int, int] = dict(
                connection.execute(sa.text("SELECT id, member_count FROM rooms")).all()
            )
        db.session.remove()
        db.engine.dispose()
    assert (counts[ids["busy"]], counts[ids["empty"]]) == (3, 0)


def test_user_search_counts_matches_only_up_to_the_limit(app, client, alice, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "USER_SEARCH_TOTAL_LIMIT", 3)
    for number in range(4):
        make_user(f"carl{number}")
    response = client.get("/api/v1/users", headers=alice.headers, query_string={"q": "car", "page_size": 100})
    assert len(ok(response)) == 4
    assert json.loads(response.headers["X-Pagination"])["total"] == 3


def plans(app, path: str, user) -> list[str]:
    """The database's plan of every SELECT on `users` that answering `path` ran."""
    sent: list[tuple[str, Any]] = []

    def keep(conn, cursor, statement, parameters, context, executemany) -> None:
        if re.match(r"\s*SELECT\b.*\bFROM users\b", statement, re.DOTALL):
            sent.append((statement, parameters))

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", keep)
        try:
            ok(user.client.get(path, headers=user.headers))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", keep)
        with db.engine.connect() as connection:
            explain = "EXPLAIN QUERY PLAN " if connection.dialect.name == "sqlite" else "EXPLAIN "
            if connection.dialect.name == "postgresql":  # a tiny table: could it use an index at all?
                connection.exec_driver_sql("SET enable_seqscan = off")
            planned = [connection.exec_driver_sql(explain + statement, values) for statement, values in sent]
            return [" ".join(map(str, row)) for plan in planned for row in plan]


def test_user_search_finds_prefixes_through_indexes_and_scans_no_table(app, alice, make_user):
    make_user("dora", display_name="Explorer")
    found = plans(app, "/api/v1/users?q=ex", alice)
    scans = [line for line in found if re.search(r"\bSCAN users\b|Seq Scan on users", line)]
    assert found and not scans, found
    assert any("_prefix" in line for line in found), found


def test_postgresql_runs_the_apps_queries_without_jit_compilation(app):
    """At 10⁶ messages the planner's estimates for `/rooms` pass `jit_above_cost`: the query then
    ran in 5 ms and spent 2.1 s compiling, on every request (bench/growth.py, docs/benchmarks.md)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("JIT compilation is PostgreSQL's")
        assert db.session.scalar(sa.text("SHOW jit")) == "off"
