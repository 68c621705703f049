"""What a user's devices receive, read through the long-poll endpoint without waiting."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

POLL = "/api/v1/events/poll"


def _poll(client: FlaskClient, user: Any, **params: Any) -> dict[str, Any]:
    response = client.get(POLL, query_string={"timeout": 0, **params}, headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def mark(client: FlaskClient, user: Any) -> int:
    """The newest event id now: what comes after it is news."""
    return _poll(client, user)["last_event_id"]


def received(client: FlaskClient, user: Any, since: int, type_: str) -> list[dict[str, Any]]:
    """The data of every `type_` event `user` may see after `since`, oldest first."""
    events = _poll(client, user, since=since)["events"]
    return [event["data"] for event in events if event["type"] == type_]
