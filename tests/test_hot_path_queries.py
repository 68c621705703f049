"""What the hottest requests cost the database: the bearer check on every call, and opening a stream
(every reconnect pays it, and clients reconnect at once)."""

from __future__ import annotations

import cProfile
import io
import pstats
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy.orm
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.pool import QueuePool
from werkzeug.test import TestResponse

from app.extensions import db
from tests.assertions import assert_error
from tests.conftest import PASSWORD, SECOND_PASS, User, age_tokens, bearer
from tests.rooms import create_room, messages_path
from tests.statements import counted_statements

ORM = str(Path(sqlalchemy.orm.__file__).parent)


def test_the_bearer_check_reads_the_token_and_its_user_in_one_statement(app, client, alice):
    with counted_statements(app) as statements:
        response = client.get("/api/v1/users/me", headers=alice.headers)
    assert response.status_code == 200
    assert response.get_json()["username"] == "alice"
    assert len(statements) == 1, "\n\n".join(statements)


@pytest.mark.parametrize("end", ["revoked", "expired", "password changed", "account deleted"])
def test_a_token_that_no_longer_grants_access_is_refused_at_once(app, client, alice, end):
    """The check is never answered from a cache, and decides in SQL what the token's object did:
    revocation, expiry, a password change and deletion take effect on the next request."""
    token = alice.token_with("users:read")  # another session's: a password change ends it
    assert client.get("/api/v1/users/me", headers=bearer(token)).status_code == 200
    current = {"current_password": PASSWORD}
    ended = {
        "revoked": lambda: client.post(
            "/auth/oauth2/revoke", data={"token": token, "client_id": "documentation"}
        ),
        "expired": lambda: age_tokens(app, app.config["ACCESS_TOKEN_EXPIRES_IN"] + 1),
        "password changed": lambda: client.patch(
            "/api/v1/users/me", json={"password": "a brand new passphrase", **current}, headers=alice.headers
        ),
        "account deleted": lambda: client.delete("/api/v1/users/me", json=current, headers=alice.headers),
    }[end]()
    assert ended is None or ended.status_code in (200, 204)
    refused = client.get("/api/v1/users/me", headers=bearer(token))
    assert_error(refused, 401)
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="parley", error="invalid_token"'


def orm_calls(profiler: cProfile.Profile) -> int:
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    return sum(calls for (path, _, _), (_, calls, *_) in stats.items() if path.startswith(ORM))


def test_the_bearer_check_builds_no_orm_object(client, alice):
    """The token and its user come as one plain row (the access rule decided in SQL), and `/users/me`
    dumps that row: 24 calls into sqlalchemy.orm (the session's own), 104 when the token and its user
    were loaded as objects; every authenticated request pays the check."""
    client.get("/api/v1/users/me", headers=alice.headers)
    profiler = cProfile.Profile()
    response = profiler.runcall(client.get, "/api/v1/users/me", headers=alice.headers)
    assert response.status_code == 200
    assert orm_calls(profiler) <= 30


def lent_connections() -> int:
    """How many connections the app's pool has out (a QueuePool: the app gives it a size)."""
    pool = db.engine.pool
    assert isinstance(pool, QueuePool)
    return pool.checkedout()


def test_a_route_that_reads_only_the_token_makes_no_session_transaction(app, client, alice):
    """`/users/me` reads nothing but its bearer check: that read is all it pays for, on a connection
    checked out without the ORM session's transaction, and handed back when the request ends."""
    begun: list[object] = []

    def session_began(*args: object) -> None:
        begun.append(args)

    event.listen(sqlalchemy.orm.Session, "after_begin", session_began)
    try:
        response = client.get("/api/v1/users/me", headers=alice.headers)
    finally:
        event.remove(sqlalchemy.orm.Session, "after_begin", session_began)
    assert response.status_code == 200
    assert begun == []
    with app.app_context():
        assert lent_connections() == 0


def test_a_route_that_writes_after_the_bearer_check_commits_on_its_connection(app, client, alice):
    """The session takes over the connection the bearer check read on: its commit is the write's."""
    changed = client.patch("/api/v1/users/me", json={"display_name": "Alice L."}, headers=alice.headers)
    assert changed.status_code == 200
    assert client.get("/api/v1/users/me", headers=alice.headers).get_json()["display_name"] == "Alice L."
    with app.app_context():
        assert lent_connections() == 0


def open_stream(client: FlaskClient, user: User, **headers: str) -> tuple[TestResponse, Iterator[bytes]]:
    response = client.get("/api/v1/events", headers={**user.headers, **headers}, buffered=False)
    assert response.status_code == 200
    return response, response.iter_encoded()


@pytest.fixture
def quick_keep_alive(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """A keep-alive at once: the stream has replayed what it will by the time it sends one."""
    monkeypatch.setitem(app.config, "EVENTS_KEEPALIVE_SECONDS", 0.01)


def test_a_stream_without_a_resume_point_costs_one_statement_and_replays_nothing(
    app, client, alice, bob, quick_keep_alive
):
    for name in ("lobby", "den"):  # rooms, memberships and events a replay would have to look at
        created = client.post("/api/v1/rooms", json={"name": name, "members": ["bob"]}, headers=alice.headers)
        assert created.status_code == 201
    # The first stream of a process also reads where the event log ends: not this one.
    first, _ = open_stream(client, bob)
    try:
        with counted_statements(app) as statements:
            response, chunks = open_stream(client, alice)
            assert next(chunks).startswith(b"retry:")
            frame = next(chunks)
            while frame.startswith(b"event: presence.updated"):  # on a busy machine, before the keep-alive
                frame = next(chunks)
            assert frame.startswith(b": keep-alive\n\n")  # two, if the reader took 10 ms
        response.close()
    finally:
        first.close()
    # The token with its user, and the resume point with the rooms at it; the keep-alive's token
    # check is the hub's, for every stream at once (tests/test_event_replay.py).
    assert len(statements) == 1, "\n\n".join(statements)


def test_a_stream_opens_without_the_orm(client, alice, bob):
    """Its token, user and resume point come as plain rows (the access rule decided in SQL): it
    builds no token or user objects to check, and makes no session just to close it: 16 calls into
    sqlalchemy.orm, 101 when it did (a thousand clients reconnecting together each pay them)."""
    first, _ = open_stream(client, bob)  # the process's first stream also reads where the log ends

    def opened() -> TestResponse:
        response, chunks = open_stream(client, alice)
        assert next(chunks).startswith(b"retry:")
        return response

    profiler = cProfile.Profile()
    response = profiler.runcall(opened)
    response.close()
    first.close()
    assert orm_calls(profiler) <= 30


def test_a_resumed_stream_still_replays_what_was_missed(app, client, alice, bob, quick_keep_alive):
    polled = client.get("/api/v1/events/poll?timeout=0", headers=alice.headers)
    assert polled.status_code == 200
    created = client.post("/api/v1/rooms", json={"name": "lobby", "members": ["bob"]}, headers=alice.headers)
    assert created.status_code == 201
    response, chunks = open_stream(
        client, alice, **{"Last-Event-ID": str(polled.get_json()["last_event_id"])}
    )
    try:
        assert next(chunks).startswith(b"retry:")
        replayed = b"".join(iter(chunks.__next__, b": keep-alive\n\n"))
        assert b"event: room.created" in replayed
    finally:
        response.close()


def test_sending_a_message_without_files_never_asks_for_its_files(app, client, alice, bob):
    """A message just inserted has no attachments unless the request named some: its answer and its
    event are dumped without a SELECT to find that out."""
    room = create_room(client, alice, members=["bob"])
    with counted_statements(app) as statements:
        sent = client.post(messages_path(room["id"]), headers=alice.headers, json={"body": "hello"})
    assert sent.status_code == 201
    assert sent.get_json()["attachments"] == []
    assert not [s for s in statements if "FROM attachments" in s], "\n\n".join(statements)
    # The token with its user's columns (the author the message holds is made from them, not
    # loaded), the room with your role, the INSERT that takes the room's row lock, the room's and
    # your read marker's UPDATEs, each event's INSERT (the message's and your read marker's; on
    # PostgreSQL after the commit-order lock). Whether the room is `general` (a budget of its own)
    # needs no query: it is not public, nor named so.
    assert len(statements) == (8 if SECOND_PASS else 7), "\n\n".join(statements)


def history_statements(app: Flask, client: FlaskClient, user: User, room_id: int) -> tuple[list, list[str]]:
    """A history page as `user` sees it, and the statements it ran."""
    with counted_statements(app) as statements:
        response = client.get(messages_path(room_id), headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json(), statements


def test_a_history_page_without_reactions_or_files_runs_one_statement_for_its_messages(
    app, client, alice, bob
):
    """Each row of the page says whether its message has reactions or files: their statements run only
    for a page that has some, and most pages have none (two statements of each page found nothing).
    The page's statement reads only a member's messages within the room's TTL: a page that finds some
    needs no statement for the room and your role before it (one more)."""
    room = create_room(client, alice, members=["bob"])
    for number in range(3):
        sent = client.post(messages_path(room["id"]), headers=alice.headers, json={"body": f"hi {number}"})
        assert sent.status_code == 201
    page, statements = history_statements(app, client, bob, room["id"])
    assert [(m["body"], m["reactions"], m["attachments"]) for m in page] == [
        (f"hi {number}", [], []) for number in range(3)
    ]
    # The token with its user, the page with its authors and reply counts.
    assert len(statements) == 2, "\n\n".join(statements)


def test_a_history_page_with_reactions_and_files_asks_for_each_once(app, client, alice, bob):
    room = create_room(client, alice, members=["bob"])
    file = {"file": (io.BytesIO(b"notes"), "a.txt")}
    upload = client.post("/api/v1/files", headers=alice.headers, data=file)
    assert upload.status_code == 201
    file_id = upload.get_json()["id"]
    bodies = [{"body": "with a file", "attachment_ids": [file_id]}, {"body": "liked"}, {"body": "plain"}]
    ids = []
    for body in bodies:
        sent = client.post(messages_path(room["id"]), headers=alice.headers, json=body)
        assert sent.status_code == 201
        ids.append(sent.get_json()["id"])
    liked = client.put(messages_path(room["id"], ids[1], "reactions", "👍"), headers=bob.headers)
    assert liked.status_code == 201
    page, statements = history_statements(app, client, bob, room["id"])
    assert [[a["id"] for a in m["attachments"]] for m in page] == [[file_id], [], []]
    assert [m["reactions"] for m in page] == [[], [{"emoji": "👍", "count": 1, "me": True}], []]
    # The token with its user, the page, its reactions, its files.
    assert len(statements) == 4, "\n\n".join(statements)


def test_a_room_list_runs_one_statement_for_its_rooms_and_none_for_files_or_reactions_they_lack(
    app, client, alice, bob
):
    """The rooms come with their counts, last messages and authors, and with whether those messages
    have files or reactions: a list where none has any needs no statement to find that out (5, with
    the count, when both were always asked for)."""
    for name in ("lobby", "den"):
        room = create_room(client, bob, name, members=["alice"])
        assert (
            client.post(messages_path(room["id"]), headers=bob.headers, json={"body": "hi"}).status_code
            == 201
        )
    with counted_statements(app) as statements:
        listed = client.get("/api/v1/rooms", headers=alice.headers)
    assert [room["name"] for room in listed.get_json()] == ["den", "lobby", "general"]
    # The token with its user, and the page: it has room for more, so it holds every room (no count).
    assert len(statements) == 2, "\n\n".join(statements)
    message_id = listed.get_json()[0]["last_message"]["id"]
    reacted = client.put(messages_path(room["id"], message_id, "reactions", "👍"), headers=alice.headers)
    assert reacted.status_code == 201
    with counted_statements(app) as statements:
        listed = client.get("/api/v1/rooms", headers=alice.headers)
    assert listed.get_json()[0]["last_message"]["reactions"] == [{"emoji": "👍", "count": 1, "me": True}]
    assert len(statements) == 3, "\n\n".join(statements)


def test_a_send_to_a_room_nobody_else_is_sending_to_commits_once_on_one_connection(app, client, alice, bob):
    """A room's senders wait for their turn holding no connection (tests/test_database_pool.py); one
    that finds the room free keeps the connection its checks read on, rather than ending their
    transaction and taking a connection again."""
    room = create_room(client, alice, members=["bob"])
    seen: list[str] = []
    request_thread = threading.get_ident()  # the test client's; the event hub's threads read too

    def checkout(*_: object) -> None:
        if threading.get_ident() == request_thread:
            seen.append("checkout")

    def commit(*_: object) -> None:
        if threading.get_ident() == request_thread:
            seen.append("commit")

    with app.app_context():
        engine = db.engine
    event.listen(engine.pool, "checkout", checkout)
    event.listen(engine, "commit", commit)
    try:
        sent = client.post(messages_path(room["id"]), headers=alice.headers, json={"body": "hello"})
    finally:
        event.remove(engine.pool, "checkout", checkout)
        event.remove(engine, "commit", commit)
    assert sent.status_code == 201
    assert seen == ["checkout", "commit"]
