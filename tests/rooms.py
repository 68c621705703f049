"""Rooms as a client reaches them: their paths, their fields, and the call most tests start with."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

ROOMS = "/api/v1/rooms"
# A Room's fields, as its members see it (docs/api.md).
ROOM_FIELDS = {
    "id",
    "name",
    "topic",
    "kind",
    "owner_id",
    "member_count",
    "unread_count",
    "last_message",
    "message_ttl_seconds",
    "role",
    "created_at",
}


def room_path(room_id: int, *rest: Any) -> str:
    return "/".join([ROOMS, str(room_id), *map(str, rest)])


def messages_path(room_id: int, *rest: Any) -> str:
    return room_path(room_id, "messages", *rest)


def create_room(client: FlaskClient, owner: Any, name: str = "lounge", **fields: Any) -> dict[str, Any]:
    """The room `owner` creates through the API (`fields`: kind, members, topic…), as the 201 shows it."""
    response = client.post(ROOMS, headers=owner.headers, json={"name": name, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def create_room_id(client: FlaskClient, owner: Any, name: str = "lounge", **fields: Any) -> int:
    """The id of the room `owner` creates, for tests that need nothing more of it."""
    return create_room(client, owner, name, **fields)["id"]
