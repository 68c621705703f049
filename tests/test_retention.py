"""Retention (docs/api.md, Rooms): a message past its room's `message_ttl_seconds` is never served,
even before the sweep job (`messages.sweep_expired`) deletes it with its files and search rows.

Messages are aged by moving their `created_at` back in the database: the one row changed by hand.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.extensions.jobs import run_all
from app.modules.events.models import Event
from app.modules.messages.models import Message
from tests.polls import mark
from tests.rooms import ROOMS, create_room_id

TTL = 60


def send(client, user, room_id: int, body: str, **fields: Any) -> dict[str, Any]:
    response = client.post(f"{ROOMS}/{room_id}/messages", headers=user.headers, json={"body": body, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def age(app, *message_ids: int, seconds: int) -> None:
    """Make messages `seconds` older, as if sent that long ago."""
    with app.app_context():
        for message in db.session.scalars(select(Message).where(Message.id.in_(message_ids))):
            message.created_at -= timedelta(seconds=seconds)
        db.session.commit()


def sweep(app) -> int | None:
    """Run the jobs once, as `invoke app.jobs` does: how many messages the sweep deleted (None: it failed)."""
    with app.app_context():
        return run_all()["messages.sweep_expired"]


def stored_messages(app, room_id: int) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).where(Message.room_id == room_id)).scalar_one()


def history_ids(client, user, room_id: int, path: str = "") -> list[int]:
    response = client.get(f"{ROOMS}/{room_id}/messages{path}", headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return [message["id"] for message in response.get_json()]


def room_view(client, user, room_id: int) -> dict[str, Any]:
    response = client.get(f"{ROOMS}/{room_id}", headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def found(client, user, q: str) -> list[int]:
    response = client.get("/api/v1/messages/search", headers=user.headers, query_string={"q": q})
    assert response.status_code == 200, response.get_json()
    return [message["id"] for message in response.get_json()]


@pytest.fixture(autouse=True)
def upload_dir(app, tmp_path, monkeypatch) -> Path:
    """This test's own UPLOAD_DIR, so that what the sweep removes from disk can be seen."""
    directory = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(directory))
    return directory


def attached_upload(client, user) -> int:
    response = client.post(
        "/api/v1/files",
        headers=user.headers,
        data={"file": (io.BytesIO(b"old news"), "old.txt", "text/plain")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_an_expired_message_is_served_nowhere_before_the_sweep(app, client, alice, bob):
    room_id = create_room_id(client, alice, kind="public", message_ttl_seconds=TTL)
    assert client.post(f"{ROOMS}/{room_id}/join", headers=bob.headers).status_code in (200, 201)
    file_id = attached_upload(client, alice)
    old = send(client, alice, room_id, "ancient zebra", attachment_ids=[file_id])
    reply = send(client, alice, room_id, "zebra reply", parent_id=old["id"])
    fresh = send(client, alice, room_id, "fresh zebra")
    age(app, old["id"], reply["id"], seconds=TTL + 1)

    assert history_ids(client, alice, room_id) == [fresh["id"]]
    assert history_ids(client, alice, room_id, f"?after={old['id'] - 1}") == [fresh["id"]]
    old_path = f"{ROOMS}/{room_id}/messages/{old['id']}"
    assert client.get(old_path, headers=alice.headers).status_code == 404
    assert client.get(f"{old_path}/replies", headers=alice.headers).status_code == 404
    assert client.get(f"/api/v1/files/{file_id}", headers=alice.headers).status_code == 404
    assert found(client, alice, "zebra") == [fresh["id"]]
    assert room_view(client, bob, room_id)["unread_count"] == 1
    assert room_view(client, bob, room_id)["last_message"]["id"] == fresh["id"]

    age(app, fresh["id"], seconds=TTL + 1)
    assert room_view(client, bob, room_id)["last_message"] is None
    assert room_view(client, bob, room_id)["unread_count"] == 0
    response = client.post(
        f"{ROOMS}/{room_id}/messages", headers=alice.headers, json={"body": "late", "parent_id": old["id"]}
    )
    assert response.status_code == 422


def test_a_reply_outlives_its_parent_and_the_reply_count_drops_expired_replies(app, client, alice):
    room_id = create_room_id(client, alice, kind="public", message_ttl_seconds=TTL)
    parent = send(client, alice, room_id, "parent")
    old_reply = send(client, alice, room_id, "old reply", parent_id=parent["id"])
    new_reply = send(client, alice, room_id, "new reply", parent_id=parent["id"])
    age(app, old_reply["id"], seconds=TTL + 1)
    assert history_ids(client, alice, room_id, f"/{parent['id']}/replies") == [new_reply["id"]]
    response = client.get(f"{ROOMS}/{room_id}/messages/{parent['id']}", headers=alice.headers)
    assert response.get_json()["reply_count"] == 1
    page = client.get(f"{ROOMS}/{room_id}/messages", headers=alice.headers).get_json()
    assert [message["reply_count"] for message in page if message["id"] == parent["id"]] == [1]

    age(app, parent["id"], seconds=TTL + 1)
    sweep(app)
    response = client.get(f"{ROOMS}/{room_id}/messages/{new_reply['id']}", headers=alice.headers)
    assert response.status_code == 200
    assert response.get_json()["parent_id"] is None


def test_the_sweep_deletes_expired_rows_and_their_files_in_rooms_with_a_ttl(app, client, alice, upload_dir):
    room_id = create_room_id(client, alice, kind="public", message_ttl_seconds=TTL)
    forever_id = create_room_id(client, alice, kind="public", name="archive")
    file_id = attached_upload(client, alice)
    old = send(client, alice, room_id, "old", attachment_ids=[file_id])
    kept = send(client, alice, forever_id, "kept")
    age(app, old["id"], kept["id"], seconds=10 * TTL)
    assert [p for p in upload_dir.rglob("*") if p.is_file()] != []

    assert sweep(app) == 1
    assert stored_messages(app, room_id) == 0
    assert stored_messages(app, forever_id) == 1
    assert [p for p in upload_dir.rglob("*") if p.is_file()] == []
    assert room_view(client, alice, room_id)["last_message"] is None
    # A read marker at a deleted message still counts what follows it.
    send(client, alice, room_id, "after the sweep")
    assert room_view(client, alice, room_id)["unread_count"] == 0
    assert sweep(app) == 0


def test_the_sweep_works_in_batches(app, client, alice, monkeypatch):
    monkeypatch.setattr("app.modules.messages.services.SWEEP_BATCH", 2)
    room_id = create_room_id(client, alice, kind="public", message_ttl_seconds=TTL)
    ids = [send(client, alice, room_id, f"m{n}")["id"] for n in range(5)]
    age(app, *ids, seconds=TTL + 1)
    assert sweep(app) == 5
    assert stored_messages(app, room_id) == 0


def test_events_of_an_expired_message_are_not_replayed(app, client, alice):
    room_id = create_room_id(client, alice, kind="public", message_ttl_seconds=TTL)
    since = mark(client, alice)
    old = send(client, alice, room_id, "old")
    send(client, alice, room_id, "new")
    with app.app_context():
        event = db.session.scalar(select(Event).where(Event.type == "message.created").order_by(Event.id))
        assert event is not None
        assert event.data["id"] == old["id"]
        event.created_at -= timedelta(seconds=TTL + 1)
        db.session.commit()
    age(app, old["id"], seconds=TTL + 1)

    response = client.get(
        "/api/v1/events/poll", headers=alice.headers, query_string={"since": since, "timeout": 0}
    )
    bodies = [
        event["data"]["body"] for event in response.get_json()["events"] if event["type"] == "message.created"
    ]
    assert bodies == ["new"]


def test_the_client_msg_id_of_an_expired_message_is_a_409_not_the_message(app, client, alice):
    room_id = create_room_id(client, alice, kind="public", message_ttl_seconds=TTL)
    first = send(client, alice, room_id, "once", client_msg_id="k1")
    age(app, first["id"], seconds=TTL + 1)
    response = client.post(
        f"{ROOMS}/{room_id}/messages", headers=alice.headers, json={"body": "once", "client_msg_id": "k1"}
    )
    assert response.status_code == 409
    assert "once" not in response.get_data(as_text=True)


def test_changing_the_ttl_applies_to_messages_already_there(app, client, alice):
    room_id = create_room_id(client, alice, kind="public")
    message = send(client, alice, room_id, "an hour old")
    age(app, message["id"], seconds=3600)
    assert history_ids(client, alice, room_id) == [message["id"]]

    response = client.patch(f"{ROOMS}/{room_id}", headers=alice.headers, json={"message_ttl_seconds": 1800})
    assert response.status_code == 200, response.get_json()
    assert history_ids(client, alice, room_id) == []

    response = client.patch(f"{ROOMS}/{room_id}", headers=alice.headers, json={"message_ttl_seconds": None})
    assert response.status_code == 200, response.get_json()
    assert history_ids(client, alice, room_id) == [message["id"]]


def test_general_keeps_messages_an_hour(app, client, alice):
    general = next(
        room for room in client.get(ROOMS, headers=alice.headers).get_json() if room["name"] == "general"
    )
    assert general["message_ttl_seconds"] == 3600
    message = send(client, alice, general["id"], "hello")
    age(app, message["id"], seconds=3599)
    assert history_ids(client, alice, general["id"]) == [message["id"]]
    age(app, message["id"], seconds=2)
    assert history_ids(client, alice, general["id"]) == []
