"""What the hottest requests cost in Python calls: a count that does not move with the machine's load,
where CPU time would. The bench (bench/profile_paths.py, bench/http.py) measures the time itself."""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable
from pathlib import Path

import marshmallow
import pytest
import sqlalchemy.sql.cache_key
import sqlalchemy.sql.coercions
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

import app.extensions.schemas
from app.extensions.schemas import Schema
from tests.rooms import ROOMS, create_room, messages_path

MARSHMALLOW = str(Path(marshmallow.__file__).parent)
DUMPING = app.extensions.schemas.__file__  # the compiled dump loop
# What building a statement (not running one built before) goes through for each of its parts.
STATEMENT_BUILDING = sqlalchemy.sql.coercions.__file__
# What running a statement that is not the one run before costs: walking it for its cache key.
CACHE_KEYS = sqlalchemy.sql.cache_key.__file__


def calls_into(package: str, request: Callable[[], TestResponse]) -> tuple[TestResponse, int]:
    """The answer, and how many calls its request made to functions of `package`."""
    profiler = cProfile.Profile()
    response = profiler.runcall(request)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    return response, sum(calls for (path, _, _), (_, calls, *_) in stats.items() if path.startswith(package))


@pytest.fixture
def rooms_with_messages(client: FlaskClient, alice, bob) -> int:
    """Alice in ten rooms of Bob's besides `general`, the last message of each Bob's."""
    for number in range(10):
        room = create_room(client, bob, f"room {number}", members=["alice"])
        sent = client.post(messages_path(room["id"]), headers=bob.headers, json={"body": "hi"})
        assert sent.status_code == 201
    return 11


def test_a_room_list_is_dumped_with_a_few_marshmallow_calls_per_room(client, alice, rooms_with_messages):
    """marshmallow's own loop made about 160 calls per room (five per field, its message's included);
    the compiled loop of app.extensions.schemas calls marshmallow only for Method fields: nested
    objects go straight to their schema's loop and timestamps to their format (25 calls per room
    when both went through marshmallow's `Nested` and `DateTime`)."""
    listed = lambda: client.get(f"{ROOMS}?page_size=50", headers=alice.headers)  # noqa: E731
    response, calls = calls_into(MARSHMALLOW, listed)
    assert response.status_code == 200
    assert len(response.get_json()) == rooms_with_messages
    assert calls / rooms_with_messages <= 15


def test_a_plain_value_is_dumped_without_a_call_of_its_own(client, alice, rooms_with_messages):
    """The compiled loop reads each attribute itself and keeps an int, str or bool as it is: only a
    value to format (a timestamp, a nested object) costs a call into the dumping code (42 calls per
    room when every field went through a function of its own)."""
    listed = lambda: client.get(f"{ROOMS}?page_size=50", headers=alice.headers)  # noqa: E731
    response, calls = calls_into(DUMPING, listed)
    assert len(response.get_json()) == rooms_with_messages
    assert calls / rooms_with_messages <= 33


def test_your_own_account_is_dumped_without_reading_through_the_current_user_proxy(client, alice):
    """`/users/me` answers `current_user`, a proxy that has `__getitem__`: marshmallow's lookup tried
    `proxy[name]` for each field and fell back on the attribute after a TypeError."""
    response, calls = calls_into(MARSHMALLOW, lambda: client.get("/api/v1/users/me", headers=alice.headers))
    assert response.get_json()["username"] == "alice"
    assert calls <= 10  # the Method and DateTime fields' own formatting (18 through the proxy)


def test_the_compiled_dump_answers_exactly_what_marshmallows_loop_answers(
    client, alice, bob, rooms_with_messages, monkeypatch
):
    room_id = client.get(ROOMS, headers=alice.headers).get_json()[0]["id"]
    message_id = client.get(messages_path(room_id), headers=alice.headers).get_json()[0]["id"]
    reply = {"body": "and you", "parent_id": message_id}
    assert client.post(messages_path(room_id), headers=alice.headers, json=reply).status_code == 201
    reacted = client.put(messages_path(room_id, message_id, "reactions", "👍"), headers=alice.headers)
    assert reacted.status_code in (200, 201)
    paths = [
        f"{ROOMS}?page_size=50",
        messages_path(room_id),
        f"{ROOMS}/{room_id}/members",
        "/api/v1/users/me",
        f"/api/v1/users/{bob.id}",
        "/api/v1/messages/search?q=hi",
    ]
    compiled = [client.get(path, headers=alice.headers) for path in paths]
    monkeypatch.setattr(Schema, "_serialize", marshmallow.Schema._serialize)
    for path, answer in zip(paths, compiled, strict=True):
        assert answer.status_code == 200, path
        assert answer.get_json() == client.get(path, headers=alice.headers).get_json(), path


def test_a_history_page_with_reactions_does_not_build_their_statement_again(client, alice, bob):
    """Statements built once per process (the timeline's, the bearer check's, the reactions') cost
    no building per request: a page of 20 with reactions makes 22 coercions of statement parts
    (on SQLite and PostgreSQL alike), 73 when the reactions' statement was built for each page."""
    room = create_room(client, alice, members=["bob"])
    for number in range(20):
        sent = client.post(messages_path(room["id"]), headers=bob.headers, json={"body": f"hi {number}"})
        assert sent.status_code == 201
        reacted = client.put(
            messages_path(room["id"], sent.get_json()["id"], "reactions", "👍"), headers=alice.headers
        )
        assert reacted.status_code in (200, 201)
    page = lambda: client.get(f"{messages_path(room['id'])}?limit=20", headers=alice.headers)  # noqa: E731
    page()
    response, calls = calls_into(STATEMENT_BUILDING, page)
    assert [message["reactions"] for message in response.get_json()] == [
        [{"emoji": "👍", "count": 1, "me": True}]
    ] * 20
    assert calls <= 30


def test_a_room_list_page_runs_the_statement_built_once(client, alice, rooms_with_messages):
    """The page's LIMIT and OFFSET are parameters: a statement limited anew for each request was a
    new statement, whose cache key SQLAlchemy walked again (about 0.5 ms for the room listing's)."""
    listed = lambda: client.get(f"{ROOMS}?page_size=50", headers=alice.headers)  # noqa: E731
    listed()
    response, calls = calls_into(CACHE_KEYS, listed)
    assert len(response.get_json()) == rooms_with_messages
    assert calls <= 50


def test_a_pages_files_and_last_messages_come_without_selectin_loads(client, alice, rooms_with_messages):
    """A room list's last messages come joined to their rooms; its and a history page's files from a
    statement built once (files.load_into). The relationships' selectin loads walked SQLAlchemy's
    loader machinery for each page (a fifth of a room list's CPU), though most pages carry no file."""
    room_id = client.get(ROOMS, headers=alice.headers).get_json()[0]["id"]
    for path in [f"{ROOMS}?page_size=50", messages_path(room_id)]:
        profiler = cProfile.Profile()
        response = profiler.runcall(client.get, path, headers=alice.headers)
        assert response.status_code == 200
        stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
        assert not [function for (_, _, function) in stats if function == "_load_for_path"], path


def test_sending_a_message_builds_none_of_its_writes(client, alice, bob):
    """The INSERT with the room's lock, the room's and read marker's UPDATEs and the events' INSERT are
    built once; the ORM's flush of the message and the events built each of them again per send."""
    room = create_room(client, alice, members=["bob"])
    send = lambda: client.post(messages_path(room["id"]), headers=alice.headers, json={"body": "hi"})  # noqa: E731
    send()
    response, calls = calls_into(STATEMENT_BUILDING, send)
    assert response.status_code == 201
    assert calls <= 8
