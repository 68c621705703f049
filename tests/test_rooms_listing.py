"""The room list (`GET /rooms`): each listed room is what `GET /rooms/{id}` shows of it.

The listing builds its rooms from rows by hand (rooms.schemas.listed_room), for speed; a single
room is dumped by `RoomSchema` from entities. These tests hold the two answers equal over rooms
that differ in every way a room can, with marshmallow's own dumping loop as the reference.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import marshmallow
import pytest
from flask.testing import FlaskClient

from app.extensions.schemas import Schema
from tests.assertions import ok
from tests.conftest import PASSWORD
from tests.rooms import ROOMS, create_room, messages_path, room_path
from tests.test_retention import TTL, age
from tests.test_scheduled_messages import Clock, run_scheduler, scheduled_ok


def sent(client: FlaskClient, user: Any, room_id: int, body: str = "hello", **fields: Any) -> dict[str, Any]:
    response = client.post(messages_path(room_id), headers=user.headers, json={"body": body, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture(autouse=True)
def upload_dir(app, tmp_path, monkeypatch) -> None:
    """This test's own UPLOAD_DIR (the session app's config is restored afterwards)."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))


@pytest.fixture
def varied_rooms(app, client: FlaskClient, alice, bob, carol, make_user, monkeypatch) -> None:
    """Alice's rooms, each unlike the others, and a public room she is not in."""
    create_room(client, bob, "quiet", members=["alice"])  # no message at all
    unread = create_room(client, bob, "unread", members=["alice", "carol"])["id"]
    for number in range(3):
        sent(client, bob, unread, f"news {number}")
    managed = create_room(client, bob, "managed", topic="Ops", members=["alice"])["id"]
    ok(client.patch(room_path(managed, "members", alice.id), headers=bob.headers, json={"role": "admin"}))
    thread = sent(client, alice, managed, "a question")
    sent(client, bob, managed, "an answer", parent_id=thread["id"])
    reacted = create_room(client, alice, "reacted", members=["bob", "carol"])["id"]
    liked = sent(client, bob, reacted, "good news")
    for user, emoji in ((alice, "👍"), (carol, "👍"), (carol, "🎉")):
        ok(client.put(messages_path(reacted, liked["id"], "reactions", emoji), headers=user.headers), 201)
    filed = create_room(client, alice, "filed", members=["bob"])["id"]
    upload = {"file": (io.BytesIO(b"minutes"), "minutes.txt", "text/plain")}
    stored = ok(client.post("/api/v1/files", headers=bob.headers, data=upload), 201)
    sent(client, bob, filed, "see attached", attachment_ids=[stored["id"]])
    edited = create_room(client, alice, "edited", members=["bob"])["id"]
    changed = sent(client, bob, edited, "typo")
    ok(client.patch(messages_path(edited, changed["id"]), headers=bob.headers, json={"body": "fixed"}))
    tombstone = create_room(client, alice, "tombstone", members=["bob"])["id"]
    removed = sent(client, bob, tombstone, "oops")
    assert client.delete(messages_path(tombstone, removed["id"]), headers=bob.headers).status_code == 204
    dave = make_user("dave", display_name="Dave")
    orphaned = create_room(client, alice, "orphaned", members=["dave"])["id"]
    sent(client, dave, orphaned, "bye all")
    farewell = {"current_password": PASSWORD}
    assert client.delete("/api/v1/users/me", headers=dave.headers, json=farewell).status_code == 204
    ok(client.post(f"{ROOMS}/direct", headers=alice.headers, json={"username": "bob"}), 201)
    expired = create_room(client, alice, "expired", members=["bob"], message_ttl_seconds=TTL)["id"]
    age(app, sent(client, bob, expired, "gone by now")["id"], seconds=TTL + 1)
    public = create_room(client, carol, "square", kind="public", topic="Everyone")["id"]
    sent(client, carol, public, "welcome")
    punctual = create_room(client, alice, "punctual", members=["bob"])["id"]
    clock = Clock()  # on the second: a timestamp without microseconds prints none
    monkeypatch.setattr("app.extensions.database.utcnow", lambda: clock.now)
    scheduled_ok(client, bob, punctual, clock.now + timedelta(minutes=1), body="on time")
    clock.at(clock.now + timedelta(minutes=1))
    assert run_scheduler(app)


def listed(client: FlaskClient, user: Any, query: str) -> list[dict[str, Any]]:
    return ok(client.get(f"{ROOMS}?{query}", headers=user.headers))


def test_each_listed_room_is_what_the_room_itself_shows(client, alice, varied_rooms, monkeypatch):
    mine = listed(client, alice, "page_size=50")
    public = listed(client, alice, "scope=public&page_size=50")
    assert len(mine) == 12  # general, ten rooms and the direct one
    assert {room["name"] for room in public} == {"general", "square"}
    monkeypatch.setattr(Schema, "_serialize", marshmallow.Schema._serialize)
    for room in [*mine, *public]:
        assert room == ok(client.get(room_path(room["id"]), headers=alice.headers)), room["name"]


def test_the_listing_shows_what_sets_each_room_apart(client, alice, carol, varied_rooms):
    rooms = {room["name"]: room for room in listed(client, alice, "page_size=50")}
    last = {name: room["last_message"] for name, room in rooms.items()}
    assert last["quiet"] is None and last["expired"] is None
    assert rooms["unread"]["unread_count"] == 3 and rooms["quiet"]["unread_count"] == 0
    assert rooms["managed"]["role"] == "admin" and rooms["reacted"]["role"] == "owner"
    assert last["managed"]["parent_id"] is not None
    assert last["reacted"]["reactions"] == [
        {"emoji": "👍", "count": 2, "me": True},
        {"emoji": "🎉", "count": 1, "me": False},
    ]
    assert [file["filename"] for file in last["filed"]["attachments"]] == ["minutes.txt"]
    assert last["edited"]["body"] == "fixed" and last["edited"]["edited_at"] is not None
    assert last["tombstone"]["deleted"] is True and last["tombstone"]["body"] == ""
    assert last["orphaned"]["author"]["username"] == "deleted-user"
    assert last["punctual"]["send_at"].endswith("+00:00") and "." not in last["punctual"]["send_at"]
    square = next(room for room in listed(client, alice, "scope=public") if room["name"] == "square")
    assert square["role"] is None and square["unread_count"] == 0
    assert square["last_message"]["author"]["username"] == carol.username


def test_a_later_page_continues_where_the_first_ended(client, alice, varied_rooms):
    everything = [room["id"] for room in listed(client, alice, "page_size=50")]
    first, second = listed(client, alice, "page_size=5"), listed(client, alice, "page=2&page_size=5")
    assert [room["id"] for room in first + second] == everything[:10]
    for page, shown in ((1, 5), (3, 2), (9, 0)):  # more after it, the last, past the last
        response = client.get(f"{ROOMS}?page={page}&page_size=5", headers=alice.headers)
        assert len(ok(response)) == shown
        assert json.loads(response.headers["X-Pagination"])["total"] == 12
