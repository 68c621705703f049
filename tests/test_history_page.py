"""A history page (`GET /rooms/{id}/messages`, and a thread's replies): each message on it is what
`GET /rooms/{id}/messages/{message_id}` shows of it.

A page builds its messages from rows by hand (messages.schemas.shown_message), for speed; a single
message is dumped by `MessageSchema` from its entity. These tests hold the two answers equal over
messages that differ in every way a message can, with marshmallow's own dumping loop as the reference.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import marshmallow
import pytest
from flask.testing import FlaskClient

from app.extensions.schemas import Schema
from tests.assertions import assert_error, ok
from tests.conftest import PASSWORD
from tests.rooms import create_room, messages_path
from tests.test_rooms_listing import sent
from tests.test_scheduled_messages import Clock, run_scheduler, scheduled_ok


@pytest.fixture(autouse=True)
def upload_dir(app, tmp_path, monkeypatch) -> None:
    """This test's own UPLOAD_DIR (the session app's config is restored afterwards)."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path))


@pytest.fixture
def varied_room(app, client: FlaskClient, alice, bob, carol, make_user, monkeypatch) -> int:
    """A room of Alice's whose messages are each unlike the others."""
    dave = make_user("dave", display_name="Dave")
    room = create_room(client, alice, "varied", members=["bob", "carol", "dave"])["id"]
    thread = sent(client, alice, room, "a question")
    sent(client, bob, room, "an answer", parent_id=thread["id"])
    liked = sent(client, carol, room, "good news")
    for user, emoji in ((alice, "👍"), (bob, "👍"), (carol, "🎉")):
        ok(client.put(messages_path(room, liked["id"], "reactions", emoji), headers=user.headers), 201)
    upload = {"file": (io.BytesIO(b"minutes"), "minutes.txt", "text/plain")}
    stored = ok(client.post("/api/v1/files", headers=bob.headers, data=upload), 201)
    sent(client, bob, room, "see attached", attachment_ids=[stored["id"]])
    changed = sent(client, bob, room, "typo")
    ok(client.patch(messages_path(room, changed["id"]), headers=bob.headers, json={"body": "fixed"}))
    removed = sent(client, bob, room, "oops")
    ok(client.put(messages_path(room, removed["id"], "reactions", "👍"), headers=alice.headers), 201)
    assert client.delete(messages_path(room, removed["id"]), headers=bob.headers).status_code == 204
    sent(client, dave, room, "bye all")
    farewell = {"current_password": PASSWORD}
    assert client.delete("/api/v1/users/me", headers=dave.headers, json=farewell).status_code == 204
    clock = Clock()  # on the second: a timestamp without microseconds prints none
    monkeypatch.setattr("app.extensions.database.utcnow", lambda: clock.now)
    scheduled_ok(client, alice, room, clock.now + timedelta(minutes=1), body="on time")
    clock.at(clock.now + timedelta(minutes=1))
    assert run_scheduler(app)
    return room


def page(client: FlaskClient, user: Any, room_id: int, *parts: Any, **query: Any) -> list[dict[str, Any]]:
    return ok(client.get(messages_path(room_id, *parts), headers=user.headers, query_string=query))


def test_each_message_of_a_page_is_what_the_message_itself_shows(client, bob, varied_room, monkeypatch):
    shown = page(client, bob, varied_room)
    thread = page(client, bob, varied_room, shown[0]["id"], "replies")
    older = page(client, bob, varied_room, before=shown[4]["id"], limit=2)
    by_two = [*page(client, bob, varied_room, limit=2), *older]
    assert len(shown) == 8 and len(thread) == 1
    monkeypatch.setattr(Schema, "_serialize", marshmallow.Schema._serialize)
    for message in [*shown, *thread, *by_two]:
        assert message == ok(client.get(messages_path(varied_room, message["id"]), headers=bob.headers))


def test_a_page_shows_what_sets_each_message_apart(client, bob, varied_room):
    shown = {message["body"]: message for message in page(client, bob, varied_room)}
    assert shown["a question"]["reply_count"] == 1
    assert shown["an answer"]["parent_id"] == shown["a question"]["id"]
    assert shown["good news"]["reactions"] == [
        {"emoji": "👍", "count": 2, "me": True},
        {"emoji": "🎉", "count": 1, "me": False},
    ]
    assert [file["filename"] for file in shown["see attached"]["attachments"]] == ["minutes.txt"]
    assert shown["fixed"]["edited_at"] is not None
    assert shown[""]["deleted"] is True and shown[""]["reactions"] == []
    assert shown["bye all"]["author"] == {"id": shown["bye all"]["author"]["id"], **DELETED_AUTHOR}
    on_time = shown["on time"]
    assert on_time["send_at"] is not None and "." not in on_time["send_at"]


DELETED_AUTHOR = {"username": "deleted-user", "display_name": "Deleted user"}


def test_a_history_is_read_by_members_only_whatever_it_holds(client, alice, bob, carol):
    """The page's statement reads only a member's messages: when it finds none, the room is looked up
    for the answer, as before the page was read."""
    public = create_room(client, alice, "square", kind="public")["id"]
    private = create_room(client, alice, "den", members=["carol"])["id"]
    empty = create_room(client, alice, "quiet", members=["bob"])["id"]
    for room in (public, private):
        sent(client, alice, room, "members only")
    refused = client.get(messages_path(public), headers=bob.headers)
    assert refused.status_code == 403 and refused.get_json()["message"] == "Join this room first."
    hidden = assert_error(client.get(messages_path(private), headers=bob.headers), 404)
    assert hidden == assert_error(client.get(messages_path(999999), headers=bob.headers), 404)
    assert page(client, bob, empty) == [] and page(client, bob, empty, after=0) == []
    assert [message["body"] for message in page(client, carol, private)] == ["members only"]
