"""Assertions shared by the API tests: the error shape and timestamps, as docs/api.md states them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

# The contract's status names, spelled out so that the tests do not follow the code.
STATUS_NAMES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    413: "Request Entity Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
}

# A Message's fields, as docs/api.md lists them.
MESSAGE_FIELDS = {
    "id",
    "room_id",
    "author",
    "body",
    "parent_id",
    "reply_count",
    "attachments",
    "created_at",
    "edited_at",
    "send_at",
    "deleted",
    "reactions",
}


def assert_error(response: Any, code: int) -> dict[str, Any]:
    """The API's error shape: `{code, status, message, errors?}`."""
    assert response.status_code == code, response.get_data(as_text=True)[:500]
    assert response.is_json
    body = response.get_json()
    assert body["code"] == code
    assert body["status"] == STATUS_NAMES[code]
    assert isinstance(body["message"], str) and body["message"]
    return body


def ok(response: Any, status: int = 200) -> Any:
    """The JSON body of a response that must have `status`."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


def assert_invalid(response: Any, location: str, field: str) -> None:
    """A 422 naming `field` under `errors[location]`."""
    assert field in assert_error(response, 422)["errors"][location]


def assert_utc_timestamp(value: str) -> datetime:
    """ISO 8601 in UTC with its offset, and recent."""
    assert value.endswith("+00:00")
    moment = datetime.fromisoformat(value)
    assert moment.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - moment) < timedelta(minutes=5)
    return moment
