"""The messages module over HTTP: history with keyset cursors, sending, replies, edits, tombstones
(docs/api.md, Messages).

Not built yet, so not tested here: attachments and uploads, search, reactions, typing, scheduled messages.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import event, func, insert, select
from sqlalchemy.engine import Engine

from app.extensions import db
from app.modules.events.models import Event
from app.modules.messages.models import Message
from tests.assertions import MESSAGE_FIELDS, assert_error, assert_invalid, assert_utc_timestamp
from tests.bans import ban
from tests.conftest import PASSWORD, bearer
from tests.outbox import events_since, last_event_id, sending
from tests.rooms import ROOMS, create_room_id, messages_path, room_path

# --- helpers -----------------------------------------------------------------------------------


def get_room(client, user, room_id: int) -> dict[str, Any]:
    response = client.get(room_path(room_id), headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def my_read_marker(client, user, room_id: int) -> int:
    response = client.get(room_path(room_id, "members", "me"), headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["last_read_message_id"]


def mark_read(client, user, room_id: int, message_id: int) -> None:
    response = client.put(room_path(room_id, "read"), headers=user.headers, json={"message_id": message_id})
    assert response.status_code == 200, response.get_json()


def send(client, user, room_id: int, body: Any = "hello", **fields: Any):
    return client.post(messages_path(room_id), headers=user.headers, json={"body": body, **fields})


def sent(client, user, room_id: int, body: str = "hello", **fields: Any) -> dict[str, Any]:
    """A new message, sent through the API."""
    response = send(client, user, room_id, body, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def delete(client, user, room_id: int, message_id: int):
    return client.delete(messages_path(room_id, message_id), headers=user.headers)


def edit(client, user, room_id: int, message_id: int, body: Any = "edited", **fields: Any):
    return client.patch(
        messages_path(room_id, message_id), headers=user.headers, json={"body": body, **fields}
    )


def get_message(client, user, room_id: int, message_id: int) -> dict[str, Any]:
    response = client.get(messages_path(room_id, message_id), headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def get_page(client, user, path: str, **params: Any):
    """One history (or replies) page; `path` may be a Link header's absolute URL."""
    response = client.get(path, headers=user.headers, query_string=params or None)
    assert response.status_code == 200, response.get_json()
    assert isinstance(response.get_json(), list)
    return response


def ids_of(response) -> list[int]:
    return [message["id"] for message in response.get_json()]


def links(response) -> dict[str, str]:
    """{rel: url} from the `Link` header."""
    header = response.headers.get("Link", "")
    return {rel: url for url, rel in re.findall(r'<([^>]*)>\s*;\s*rel="([^"]*)"', header)}


def cursor_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def assert_link(url: str, path: str, **query: Any) -> None:
    """An absolute URL to `path` with exactly `query`."""
    parts = urlsplit(url)
    assert parts.scheme in {"http", "https"} and parts.netloc, url
    assert parts.path == path
    assert cursor_of(url) == {key: str(value) for key, value in query.items()}


def author_of(user) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.data["display_name"]}


def assert_message(
    body: dict[str, Any],
    *,
    room_id: int,
    author,
    text: str,
    parent_id: int | None = None,
    reply_count: int = 0,
    deleted: bool = False,
    edited: bool = False,
) -> None:
    """Exactly the Message fields, with these values."""
    assert set(body) == MESSAGE_FIELDS
    assert isinstance(body["id"], int)
    assert {
        "room_id": body["room_id"],
        "author": body["author"],
        "body": body["body"],
        "parent_id": body["parent_id"],
        "reply_count": body["reply_count"],
        "attachments": body["attachments"],
        "deleted": body["deleted"],
    } == {
        "room_id": room_id,
        "author": author_of(author),
        "body": text,
        "parent_id": parent_id,
        "reply_count": reply_count,
        "attachments": [],
        "deleted": deleted,
    }
    created = assert_utc_timestamp(body["created_at"])
    if edited:
        assert assert_utc_timestamp(body["edited_at"]) >= created
    else:
        assert body["edited_at"] is None


def message_rows(app, **where: Any) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Message).filter_by(**where)).scalar_one()


@pytest.fixture
def lounge(client, alice, bob) -> int:
    """A private room alice owns, with bob in it."""
    return create_room_id(client, alice, members=["bob"])


# --- POST /rooms/{id}/messages -----------------------------------------------------------------


def test_sending_answers_201_with_the_message_and_its_location(client, alice, lounge):
    response = send(client, alice, lounge, "Hello, Bob!")
    assert response.status_code == 201
    body = response.get_json()
    assert_message(body, room_id=lounge, author=alice, text="Hello, Bob!")
    assert urlsplit(response.headers["Location"]).path == messages_path(lounge, body["id"])
    assert get_message(client, alice, lounge, body["id"]) == body


@pytest.mark.parametrize(
    "text",
    ["a", "  padded and trailing \n", "x" * 4000, "emoji 🎉 and ünïcödé"],
    ids=["1", "ws", "4000", "utf"],
)
def test_a_body_of_1_to_4000_characters_is_stored_as_sent(client, alice, bob, lounge, text):
    message = sent(client, alice, lounge, text)
    assert message["body"] == text
    assert get_message(client, bob, lounge, message["id"])["body"] == text


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"body": ""}, "body"),
        ({"body": "x" * 4001}, "body"),
        ({"body": None}, "body"),
        ({"body": 42}, "body"),
        ({"body": "hi", "parent_id": "x"}, "parent_id"),
        ({"body": "hi", "parent_id": 0}, "parent_id"),
        ({"body": "hi", "client_msg_id": ""}, "client_msg_id"),
        ({"body": "hi", "client_msg_id": "c" * 65}, "client_msg_id"),
        ({"body": "hi", "client_msg_id": 7}, "client_msg_id"),
        ({"body": "hi", "attachment_ids": [1]}, "attachment_ids"),
        ({"body": "hi", "send_at": "2030-01-01T00:00:00+00:00"}, "send_at"),
        ({"body": "hi", "colour": "red"}, "colour"),
        ({}, "body"),
    ],
)
def test_an_invalid_message_is_a_422_naming_the_field_and_sends_nothing(
    app, client, alice, lounge, fields, bad_field
):
    mark = last_event_id(app)
    response = client.post(messages_path(lounge), headers=alice.headers, json=fields)
    assert_invalid(response, "json", bad_field)
    assert message_rows(app, room_id=lounge) == 0
    assert events_since(app, mark) == []


def test_a_64_character_client_msg_id_is_accepted(client, alice, lounge):
    assert send(client, alice, lounge, client_msg_id="c" * 64).status_code == 201


def test_a_body_that_is_not_json_is_a_400(client, alice, lounge):
    response = client.post(
        messages_path(lounge), headers=alice.headers, data="hello", content_type="application/json"
    )
    assert_error(response, 400)


def test_a_reply_names_its_parent_and_raises_the_parents_reply_count(client, alice, bob, lounge):
    parent = sent(client, alice, lounge, "lunch?")
    reply = sent(client, bob, lounge, "yes", parent_id=parent["id"])
    assert_message(reply, room_id=lounge, author=bob, text="yes", parent_id=parent["id"])
    sent(client, alice, lounge, "12:30?", parent_id=parent["id"])
    assert get_message(client, bob, lounge, parent["id"])["reply_count"] == 2
    assert get_message(client, bob, lounge, reply["id"])["reply_count"] == 0


@pytest.mark.parametrize("parent", ["other room", "deleted", "unknown", "max id"])
def test_a_reply_to_anything_but_a_live_message_of_the_room_is_a_422_naming_parent_id(
    app, client, alice, lounge, parent
):
    if parent == "other room":
        parent_id = sent(client, alice, create_room_id(client, alice, name="other"), "elsewhere")["id"]
    elif parent == "deleted":
        parent_id = sent(client, alice, lounge, "oops")["id"]
        assert delete(client, alice, lounge, parent_id).status_code == 204
    else:  # a message not yet written, or the largest id
        parent_id = sent(client, alice, lounge, "newest")["id"] + 1000 if parent == "unknown" else 2**31 - 1
    before = message_rows(app, room_id=lounge)
    assert_invalid(send(client, alice, lounge, "re", parent_id=parent_id), "json", "parent_id")
    assert message_rows(app, room_id=lounge) == before


def test_a_repeated_client_msg_id_answers_200_with_the_first_message_and_stores_no_second(
    app, client, alice, lounge
):
    first = send(client, alice, lounge, "once", client_msg_id="phone-1")
    assert first.status_code == 201
    mark = last_event_id(app)
    again = send(client, alice, lounge, "twice?", client_msg_id="phone-1")
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert ids_of(get_page(client, alice, messages_path(lounge))) == [first.get_json()["id"]]
    assert message_rows(app, room_id=lounge) == 1
    assert events_since(app, mark) == []


def test_a_client_msg_id_already_used_in_another_room_is_a_409_naming_it(app, client, alice, lounge):
    other = create_room_id(client, alice, name="other")
    sent(client, alice, lounge, "here", client_msg_id="phone-1")
    response = send(client, alice, other, "there", client_msg_id="phone-1")
    assert "client_msg_id" in assert_error(response, 409)["errors"]["json"]
    assert message_rows(app, room_id=other) == 0


def test_other_users_may_use_the_same_client_msg_id(client, alice, bob, lounge):
    mine = sent(client, alice, lounge, "from alice", client_msg_id="1")
    theirs = sent(client, bob, lounge, "from bob", client_msg_id="1")
    assert mine["id"] != theirs["id"]
    assert ids_of(get_page(client, bob, messages_path(lounge))) == [mine["id"], theirs["id"]]


def test_sending_moves_the_authors_read_marker_to_their_message(client, alice, bob, lounge):
    for n in range(3):
        sent(client, bob, lounge, f"ping {n}")
    assert get_room(client, alice, lounge)["unread_count"] == 3
    mine = sent(client, alice, lounge, "pong")
    assert my_read_marker(client, alice, lounge) == mine["id"]
    assert get_room(client, alice, lounge)["unread_count"] == 0
    assert get_room(client, bob, lounge)["unread_count"] == 1


def test_sending_updates_the_rooms_last_message_and_moves_it_first_in_the_room_list(
    client, alice, bob, lounge
):
    newer = create_room_id(client, alice, name="newer")
    listed = client.get(ROOMS, headers=alice.headers).get_json()
    assert [room["id"] for room in listed][:2] == [newer, lounge]
    message = sent(client, bob, lounge, "bump")
    listed = client.get(ROOMS, headers=alice.headers).get_json()
    assert [room["id"] for room in listed][:2] == [lounge, newer]
    assert listed[0]["last_message"] == message
    assert get_room(client, bob, lounge)["last_message"] == message


# --- GET /rooms/{id}/messages ------------------------------------------------------------------


def post_many(client, users: list, room_id: int, count: int) -> list[int]:
    """`count` messages through the API, the users taking turns; their ids, oldest first."""
    return [sent(client, users[n % len(users)], room_id, f"message {n}")["id"] for n in range(count)]


def test_history_is_the_newest_20_oldest_first_with_only_a_prev_link(client, alice, bob, lounge):
    ids = post_many(client, [alice, bob], lounge, 25)
    response = get_page(client, bob, messages_path(lounge))
    assert ids_of(response) == ids[5:]
    assert [m["body"] for m in response.get_json()] == [f"message {n}" for n in range(5, 25)]
    assert_message(response.get_json()[-1], room_id=lounge, author=alice, text="message 24")
    found = links(response)
    assert set(found) == {"prev"}
    assert cursor_of(found["prev"])["before"] == str(ids[5])


@pytest.mark.parametrize("limit", [1, 3, 100])
def test_limit_sets_the_page_size_from_1_to_100(client, alice, lounge, limit):
    ids = post_many(client, [alice], lounge, 4)
    assert ids_of(get_page(client, alice, messages_path(lounge), limit=limit)) == ids[-limit:]


def test_a_room_with_fewer_messages_than_the_limit_has_no_links(client, alice, lounge):
    ids = post_many(client, [alice], lounge, 3)
    response = get_page(client, alice, messages_path(lounge))
    assert ids_of(response) == ids
    assert links(response) == {}


def test_an_empty_room_has_an_empty_history_without_links(client, alice, lounge):
    response = get_page(client, alice, messages_path(lounge))
    assert response.get_json() == []
    assert links(response) == {}


def test_before_gives_the_messages_just_older_than_the_cursor_with_both_links(client, alice, lounge):
    ids = post_many(client, [alice], lounge, 10)
    response = get_page(client, alice, messages_path(lounge), before=ids[6], limit=3)
    assert ids_of(response) == ids[3:6]
    found = links(response)
    assert_link(found["prev"], messages_path(lounge), before=ids[3], limit=3)
    assert_link(found["next"], messages_path(lounge), after=ids[5], limit=3)


def test_a_page_from_before_reaching_the_oldest_message_has_next_but_no_prev(client, alice, lounge):
    ids = post_many(client, [alice], lounge, 5)
    response = get_page(client, alice, messages_path(lounge), before=ids[3], limit=10)
    assert ids_of(response) == ids[:3]
    assert set(links(response)) == {"next"}


def test_after_gives_the_messages_just_newer_than_the_cursor_with_both_links(client, alice, lounge):
    ids = post_many(client, [alice], lounge, 10)
    response = get_page(client, alice, messages_path(lounge), after=ids[2], limit=3)
    assert ids_of(response) == ids[3:6]
    found = links(response)
    assert_link(found["prev"], messages_path(lounge), before=ids[3], limit=3)
    assert_link(found["next"], messages_path(lounge), after=ids[5], limit=3)


def test_a_page_from_after_reaching_the_newest_message_has_prev_but_no_next(client, alice, lounge):
    ids = post_many(client, [alice], lounge, 5)
    response = get_page(client, alice, messages_path(lounge), after=ids[1], limit=10)
    assert ids_of(response) == ids[2:]
    assert set(links(response)) == {"prev"}


def test_after_the_newest_message_is_an_empty_page(client, alice, lounge):
    ids = post_many(client, [alice], lounge, 3)
    assert get_page(client, alice, messages_path(lounge), after=ids[-1]).get_json() == []


def test_an_after_cursor_older_than_the_whole_room_has_no_prev_link(client, alice, lounge):
    elsewhere = sent(
        client, alice, create_room_id(client, alice, name="earlier"), "before the lounge had any"
    )
    ids = post_many(client, [alice], lounge, 3)
    response = get_page(client, alice, messages_path(lounge), after=elsewhere["id"])
    assert ids_of(response) == ids
    assert links(response) == {}  # nothing is older than the lounge's first message


def test_the_link_urls_are_absolute_and_keep_the_limit(client, alice, lounge):
    ids = post_many(client, [alice], lounge, 6)
    response = get_page(client, alice, messages_path(lounge), limit=2, before=ids[4])
    prev, next_ = links(response)["prev"], links(response)["next"]
    assert_link(prev, messages_path(lounge), before=ids[2], limit=2)
    assert_link(next_, messages_path(lounge), after=ids[3], limit=2)
    assert ids_of(get_page(client, alice, prev)) == ids[:2]
    assert ids_of(get_page(client, alice, next_)) == ids[4:]


def test_history_includes_replies_and_tombstones(client, alice, bob, lounge):
    parent = sent(client, alice, lounge, "parent")
    reply = sent(client, bob, lounge, "reply", parent_id=parent["id"])
    gone = sent(client, bob, lounge, "gone")
    assert delete(client, bob, lounge, gone["id"]).status_code == 204
    page = get_page(client, alice, messages_path(lounge)).get_json()
    assert [m["id"] for m in page] == [parent["id"], reply["id"], gone["id"]]
    assert_message(page[0], room_id=lounge, author=alice, text="parent", reply_count=1)
    assert_message(page[1], room_id=lounge, author=bob, text="reply", parent_id=parent["id"])
    assert_message(page[2], room_id=lounge, author=bob, text="", deleted=True)


@pytest.mark.parametrize(
    ("params", "bad_field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"before": "x"}, "before"),
        ({"before": -1}, "before"),
        ({"after": "x"}, "after"),
        ({"after": -1}, "after"),
        ({"before": 5, "after": 1}, "after"),
    ],
)
def test_invalid_history_parameters_are_a_422_naming_the_parameter(client, alice, lounge, params, bad_field):
    sent(client, alice, lounge)
    response = client.get(messages_path(lounge), headers=alice.headers, query_string=params)
    assert_invalid(response, "query", bad_field)


def test_a_deleted_authors_messages_stay_under_a_deleted_user(client, alice, bob, lounge):
    message = sent(client, bob, lounge, "bye")
    response = client.delete("/api/v1/users/me", headers=bob.headers, json={"current_password": PASSWORD})
    assert response.status_code == 204, response.get_json()
    [shown] = get_page(client, alice, messages_path(lounge)).get_json()
    assert (shown["id"], shown["body"]) == (message["id"], "bye")
    assert (shown["author"]["username"], shown["author"]["display_name"]) == ("deleted-user", "Deleted user")
    assert get_message(client, alice, lounge, message["id"])["author"] == shown["author"]


# --- keyset cursors over 250 messages ----------------------------------------------------------


@dataclass
class Crowd:
    """A room of 250 messages by two authors: every 25th a reply to the first, every 50th deleted."""

    room_id: int
    ids: list[int]
    expected: list[tuple[int, str, int | None, bool]]  # (id, body, parent_id, deleted), oldest first


def shown(messages: list[dict[str, Any]]) -> list[tuple[int, str, int | None, bool]]:
    return [(m["id"], m["body"], m["parent_id"], m["deleted"]) for m in messages]


@pytest.fixture
def crowd(client, alice, bob) -> Crowd:
    room_id = create_room_id(client, alice, members=["bob"])
    ids: list[int] = []
    for n in range(250):
        reply_to = {"parent_id": ids[0]} if n % 25 == 24 else {}
        ids.append(sent(client, (alice, bob)[n % 2], room_id, f"message {n}", **reply_to)["id"])
    deleted = set(ids[7::50])
    for message_id in deleted:
        assert delete(client, alice, room_id, message_id).status_code == 204
    expected = [
        (
            message_id,
            "" if message_id in deleted else f"message {n}",
            ids[0] if n % 25 == 24 else None,
            message_id in deleted,
        )
        for n, message_id in enumerate(ids)
    ]
    return Crowd(room_id, ids, expected)


MAX_PAGES = 300  # more than 250 messages could need: a cursor that never ends fails instead of hanging


def test_paging_forwards_with_after_returns_every_message_once_in_order(client, bob, crowd):
    limit = 7
    path = messages_path(crowd.room_id)
    # The oldest page, as a client gets it after scrolling back; then forwards from its last id.
    collected = get_page(client, bob, path, before=crowd.ids[limit], limit=limit).get_json()
    for _ in range(MAX_PAGES):
        page = get_page(client, bob, path, after=collected[-1]["id"], limit=limit).get_json()
        if not page:
            break
        assert len(page) == min(limit, 250 - len(collected))
        collected += page
    assert shown(collected) == crowd.expected


def test_paging_backwards_with_before_returns_every_message_once_in_order(client, alice, crowd):
    path = messages_path(crowd.room_id)
    collected = get_page(client, alice, path).get_json()  # the newest 20 by default
    for _ in range(MAX_PAGES):
        page = get_page(client, alice, path, before=collected[0]["id"]).get_json()
        if not page:
            break
        assert len(page) == min(20, 250 - len(collected))
        collected = page + collected
    assert shown(collected) == crowd.expected


def test_following_the_link_headers_back_and_forth_returns_every_message_once_in_order(client, alice, crowd):
    limit = 13
    response = get_page(client, alice, messages_path(crowd.room_id), limit=limit)
    assert "next" not in links(response)
    backwards = [response.get_json()]
    for _ in range(MAX_PAGES):
        if "prev" not in links(response):
            break
        response = get_page(client, alice, links(response)["prev"])
        backwards.insert(0, response.get_json())
    assert shown([m for page in backwards for m in page]) == crowd.expected
    forwards = [response.get_json()]  # from the oldest page
    for _ in range(MAX_PAGES):
        if "next" not in links(response):
            break
        response = get_page(client, alice, links(response)["next"])
        forwards.append(response.get_json())
    assert shown([m for page in forwards for m in page]) == crowd.expected
    assert {len(page) for page in forwards[1:-1]} == {limit}  # the oldest page may be short


# --- unread count and the reconnect query ------------------------------------------------------


@pytest.mark.parametrize("caught_up_by", ["posting", "marking read", "nothing"])
def test_messages_after_the_read_marker_are_as_many_live_ones_as_unread_count(
    client, alice, bob, carol, caught_up_by
):
    room_id = create_room_id(client, alice, members=["bob", "carol"])
    early = [sent(client, bob, room_id, f"early {n}")["id"] for n in range(3)]
    assert delete(client, bob, room_id, early[1]).status_code == 204
    if caught_up_by == "posting":
        sent(client, alice, room_id, "see you later")
    elif caught_up_by == "marking read":
        mark_read(client, alice, room_id, early[-1])
    # alice is away; bob and carol talk on, and bob takes one message back
    later = [sent(client, (bob, carol)[n % 2], room_id, f"later {n}")["id"] for n in range(6)]
    assert delete(client, bob, room_id, later[2]).status_code == 204
    # alice reconnects
    unread = get_room(client, alice, room_id)["unread_count"]
    marker = my_read_marker(client, alice, room_id)
    response = client.get(
        messages_path(room_id), headers=alice.headers, query_string={"after": marker, "limit": 100}
    )
    assert response.status_code == 200, response.get_json()
    live = [m for m in response.get_json() if not m["deleted"]]
    assert len(live) == unread
    assert unread == (7 if caught_up_by == "nothing" else 5)


# --- concurrency: one message per client_msg_id ------------------------------------------------


def test_the_same_client_msg_id_sent_twice_at_once_makes_one_message(app, live_server, client, alice, lounge):
    url = live_server + messages_path(lounge)
    rounds = 5
    for attempt in range(rounds):
        barrier = threading.Barrier(2)
        answers: list[Any] = [None, None]

        def fire(slot: int, barrier=barrier, answers=answers, attempt=attempt) -> None:
            with requests.Session() as session:
                barrier.wait(timeout=10)
                try:
                    answers[slot] = session.post(
                        url,
                        headers=alice.headers,
                        json={
                            "body": f"attempt {attempt} from thread {slot}",
                            "client_msg_id": f"race-{attempt}",
                        },
                        timeout=30,
                    )
                except requests.RequestException as error:  # reported by the assertion below
                    answers[slot] = error

        threads = [threading.Thread(target=fire, args=(slot,)) for slot in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert all(isinstance(answer, requests.Response) for answer in answers), answers
        assert sorted(a.status_code for a in answers) == [200, 201], [a.text for a in answers]
        assert answers[0].json() == answers[1].json()
    history = get_page(client, alice, messages_path(lounge)).get_json()
    assert len(history) == rounds
    assert message_rows(app, room_id=lounge) == rounds
    with app.app_context():
        created = db.session.scalar(select(func.count()).where(Event.type == "message.created"))
    assert created == rounds


# --- concurrency: history follows commit order -------------------------------------------------


@contextlib.contextmanager
def a_send_held_open(url: str, user, body: str = "slow") -> Iterator[dict[str, Any]]:
    """`user` sends `body` to `url` (a live server's), whose transaction stays open after drawing the id.

    Yields the answers: the held send's lands under `body` once the block ends.
    """
    drawn, release = threading.Event(), threading.Event()
    answers: dict[str, Any] = {}

    def hold(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        values = parameters.values() if isinstance(parameters, dict) else parameters
        if statement.startswith("INSERT INTO messages") and body in values:
            drawn.set()
            release.wait(10)

    def send_it() -> None:
        answers[body] = requests.post(url, headers=user.headers, json={"body": body}, timeout=30)

    sender = threading.Thread(target=send_it)
    event.listen(Engine, "after_cursor_execute", hold)
    sender.start()
    try:
        assert drawn.wait(10), "the held message was never inserted"
        yield answers
    finally:
        release.set()
        sender.join(30)
        event.remove(Engine, "after_cursor_execute", hold)  # not while a statement runs it


def in_background(answers: dict[str, Any], name: str, request: Callable[[], Any]) -> threading.Thread:
    """Run `request` on a thread; given a second to finish, unless it must wait for the held send."""
    thread = threading.Thread(target=lambda: answers.__setitem__(name, request()))
    thread.start()
    thread.join(1.0)
    return thread


def test_a_reader_following_after_never_skips_a_message_whose_transaction_committed_late(
    live_server, client, alice, bob, lounge
):
    """Alice's send holds its transaction open after drawing its id while Bob's send goes ahead.

    A reader polling `after=<newest id seen>` in between must still get Alice's message later:
    Bob's must wait for hers (so its id is the larger) instead of committing first.
    """
    url = live_server + messages_path(lounge)
    with a_send_held_open(url, alice) as answers:
        quick = in_background(
            answers,
            "quick",
            lambda: requests.post(url, headers=bob.headers, json={"body": "quick"}, timeout=30),
        )
        seen = ids_of(get_page(client, bob, messages_path(lounge), after=0))
    quick.join(30)
    assert {body: answer.status_code for body, answer in answers.items()} == {"slow": 201, "quick": 201}
    seen += ids_of(get_page(client, bob, messages_path(lounge), after=seen[-1] if seen else 0))
    assert seen == [answers["slow"].json()["id"], answers["quick"].json()["id"]]


# --- GET /rooms/{id}/messages/{mid} ------------------------------------------------------------


def test_a_member_reads_one_message(client, alice, bob, lounge):
    message = sent(client, alice, lounge, "just one")
    body = get_message(client, bob, lounge, message["id"])
    assert_message(body, room_id=lounge, author=alice, text="just one")
    assert body == message


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("GET", "", None), ("PATCH", "", {"body": "x"}), ("DELETE", "", None), ("GET", "/replies", None)],
    ids=["get", "patch", "delete", "replies"],
)
@pytest.mark.parametrize("which", ["another room's", "unknown", "beyond the id range"])
def test_a_message_not_in_the_room_is_a_404(app, client, alice, lounge, method, suffix, body, which):
    other = create_room_id(client, alice, name="other")
    elsewhere = sent(client, alice, other, "not in the lounge")
    message_id = {
        "another room's": elsewhere["id"],
        "unknown": elsewhere["id"] + 1000,  # not written yet
        "beyond the id range": 2**31,
    }[which]
    response = client.open(
        messages_path(lounge, message_id) + suffix, method=method, headers=alice.headers, json=body
    )
    assert_error(response, 404)
    assert get_message(client, alice, other, elsewhere["id"]) == elsewhere


# --- PATCH /rooms/{id}/messages/{mid} ----------------------------------------------------------


def test_the_author_edits_a_message_which_sets_edited_at(client, alice, bob, lounge):
    message = sent(client, bob, lounge, "teh")
    sent(client, alice, lounge, "lol", parent_id=message["id"])
    response = edit(client, bob, lounge, message["id"], "the")
    assert response.status_code == 200
    body = response.get_json()
    assert_message(body, room_id=lounge, author=bob, text="the", reply_count=1, edited=True)
    assert (body["id"], body["created_at"]) == (message["id"], message["created_at"])
    assert get_message(client, alice, lounge, message["id"]) == body


@pytest.mark.parametrize("editor", ["owner", "other member"])
def test_only_the_author_may_edit_a_message(client, alice, bob, carol, editor):
    room_id = create_room_id(client, alice, members=["bob", "carol"])
    message = sent(client, bob, room_id, "mine")
    assert_error(edit(client, {"owner": alice, "other member": carol}[editor], room_id, message["id"]), 403)
    assert get_message(client, bob, room_id, message["id"]) == message


def test_editing_a_deleted_message_is_a_409(client, bob, lounge):
    message = sent(client, bob, lounge, "gone soon")
    assert delete(client, bob, lounge, message["id"]).status_code == 204
    assert_error(edit(client, bob, lounge, message["id"], "back"), 409)
    assert get_message(client, bob, lounge, message["id"])["body"] == ""


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"body": ""}, "body"),
        ({"body": "x" * 4001}, "body"),
        ({"body": None}, "body"),
        ({"body": "x", "parent_id": 1}, "parent_id"),
        ({"body": "x", "client_msg_id": "c"}, "client_msg_id"),
        ({}, "body"),
    ],
)
def test_an_invalid_edit_is_a_422_naming_the_field_and_changes_nothing(
    client, alice, lounge, fields, bad_field
):
    message = sent(client, alice, lounge, "original")
    response = client.patch(messages_path(lounge, message["id"]), headers=alice.headers, json=fields)
    assert_invalid(response, "json", bad_field)
    assert get_message(client, alice, lounge, message["id"]) == message


def test_a_banned_user_can_neither_send_edit_nor_announce_typing(app, client, make_user, alice, bob, lounge):
    message = sent(client, bob, lounge, "before the ban")
    ban(app, client, make_user, bob)
    mark = last_event_id(app)
    refused = [
        send(client, bob, lounge, "after the ban"),
        edit(client, bob, lounge, message["id"], "rewritten"),
        client.post(room_path(lounge, "typing"), headers=bob.headers),
    ]
    for response in refused:
        assert_error(response, 403)
        assert response.headers["X-Banned-Until"]
    assert get_message(client, alice, lounge, message["id"]) == message
    assert events_since(app, mark) == []


# --- DELETE /rooms/{id}/messages/{mid} ---------------------------------------------------------


def test_deleting_leaves_a_tombstone_in_history_and_deleting_again_is_a_204(client, alice, bob, lounge):
    before, message, after = (sent(client, bob, lounge, text) for text in ("a", "secret", "c"))
    response = delete(client, bob, lounge, message["id"])
    assert response.status_code == 204
    assert response.data == b""
    tombstone = get_message(client, alice, lounge, message["id"])
    assert_message(tombstone, room_id=lounge, author=bob, text="", deleted=True)
    history = get_page(client, alice, messages_path(lounge)).get_json()
    assert [m["id"] for m in history] == [before["id"], message["id"], after["id"]]
    assert history[1] == tombstone
    assert delete(client, bob, lounge, message["id"]).status_code == 204
    assert get_message(client, alice, lounge, message["id"]) == tombstone


@pytest.mark.parametrize(
    ("deleter", "status"), [("author", 204), ("owner", 204), ("admin", 204), ("member", 403)]
)
def test_the_author_owner_or_an_admin_deletes_a_message_but_not_another_member(
    client, make_user, alice, bob, carol, deleter, status
):
    dave = make_user("dave", display_name="Dave")
    room_id = create_room_id(client, alice, members=["bob", "carol", "dave"])
    response = client.patch(
        room_path(room_id, "members", bob.id), headers=alice.headers, json={"role": "admin"}
    )
    assert response.status_code == 200
    message = sent(client, dave, room_id, "by dave")
    by = {"author": dave, "owner": alice, "admin": bob, "member": carol}[deleter]
    response = delete(client, by, room_id, message["id"])
    assert response.status_code == status, response.get_json()
    assert get_message(client, dave, room_id, message["id"])["deleted"] is (status == 204)


def test_deleting_a_reply_lowers_its_parents_reply_count_but_keeps_it_listed(client, alice, bob, lounge):
    parent = sent(client, alice, lounge, "q")
    replies = [sent(client, bob, lounge, f"a{n}", parent_id=parent["id"])["id"] for n in range(3)]
    assert delete(client, bob, lounge, replies[1]).status_code == 204
    assert get_message(client, alice, lounge, parent["id"])["reply_count"] == 2
    listed = get_page(client, alice, messages_path(lounge, parent["id"], "replies")).get_json()
    assert [(m["id"], m["deleted"]) for m in listed] == [
        (replies[0], False),
        (replies[1], True),
        (replies[2], False),
    ]


def test_a_deleted_parent_keeps_its_replies(client, alice, bob, lounge):
    parent = sent(client, alice, lounge, "q")
    reply = sent(client, bob, lounge, "a", parent_id=parent["id"])
    assert delete(client, alice, lounge, parent["id"]).status_code == 204
    listed = get_page(client, bob, messages_path(lounge, parent["id"], "replies")).get_json()
    assert [m["id"] for m in listed] == [reply["id"]]
    assert get_message(client, bob, lounge, parent["id"])["reply_count"] == 1


# --- GET /rooms/{id}/messages/{mid}/replies ----------------------------------------------------


def test_replies_are_paged_oldest_first_with_the_same_cursors_and_link_header(client, alice, bob, lounge):
    parent = sent(client, alice, lounge, "thread")
    replies = []
    for n in range(7):
        sent(client, alice, lounge, f"chatter {n}")  # interleaved top-level messages are not replies
        replies.append(sent(client, (alice, bob)[n % 2], lounge, f"reply {n}", parent_id=parent["id"])["id"])
    path = messages_path(lounge, parent["id"], "replies")
    newest = get_page(client, bob, path, limit=3)
    assert ids_of(newest) == replies[4:]
    assert all(m["parent_id"] == parent["id"] for m in newest.get_json())
    assert set(links(newest)) == {"prev"}
    assert_link(links(newest)["prev"], path, before=replies[4], limit=3)
    middle = get_page(client, bob, path, before=replies[4], limit=3)
    assert ids_of(middle) == replies[1:4]
    assert_link(links(middle)["next"], path, after=replies[3], limit=3)
    assert ids_of(get_page(client, bob, path, after=replies[1], limit=3)) == replies[2:5]
    assert ids_of(get_page(client, bob, links(middle)["prev"])) == replies[:1]
    assert ids_of(get_page(client, bob, path)) == replies


def test_a_message_without_replies_has_an_empty_replies_page(client, alice, lounge):
    message = sent(client, alice, lounge, "alone")
    response = get_page(client, alice, messages_path(lounge, message["id"], "replies"))
    assert response.get_json() == []
    assert links(response) == {}


@pytest.mark.parametrize(
    ("params", "bad_field"), [({"limit": 0}, "limit"), ({"before": 2, "after": 1}, "after")]
)
def test_invalid_replies_parameters_are_a_422_naming_the_parameter(client, alice, lounge, params, bad_field):
    message = sent(client, alice, lounge)
    response = client.get(
        messages_path(lounge, message["id"], "replies"), headers=alice.headers, query_string=params
    )
    assert_invalid(response, "query", bad_field)


# --- who may do what ---------------------------------------------------------------------------

ROLES = ("owner", "admin", "member", "author", "outsider", "anonymous")


@dataclass
class Cast:
    """A room: alice owns it, bob is an admin, carol a member, dave a member who writes; erin is outside."""

    room_id: int
    users: dict[str, Any]

    def headers(self, role: str) -> dict[str, str]:
        return {} if role == "anonymous" else self.users[role].headers


def make_cast(client, make_user, kind: str) -> Cast:
    users = {
        "owner": make_user("alice", display_name="Alice"),
        "admin": make_user("bob", display_name="Bob"),
        "member": make_user("carol", display_name="Carol"),
        "author": make_user("dave", display_name="Dave"),
        "outsider": make_user("erin", display_name="Erin"),
    }
    room_id = create_room_id(client, users["owner"], kind=kind, members=["bob", "carol", "dave"])
    response = client.patch(
        room_path(room_id, "members", users["admin"].id),
        headers=users["owner"].headers,
        json={"role": "admin"},
    )
    assert response.status_code == 200
    return Cast(room_id, users)


# (method, path under the room's messages with {message} a fresh message by dave, body)
ACTIONS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "history": ("GET", "", None),
    "send": ("POST", "", {"body": "hi"}),
    "read one": ("GET", "/{message}", None),
    "edit": ("PATCH", "/{message}", {"body": "changed"}),
    "delete": ("DELETE", "/{message}", None),
    "replies": ("GET", "/{message}/replies", None),
}
# Expected status for (owner, admin, member, author, outsider, anonymous).
PRIVATE_MATRIX = {
    "history": (200, 200, 200, 200, 404, 401),
    "send": (201, 201, 201, 201, 404, 401),
    "read one": (200, 200, 200, 200, 404, 401),
    "edit": (403, 403, 403, 200, 404, 401),
    "delete": (204, 204, 403, 204, 404, 401),
    "replies": (200, 200, 200, 200, 404, 401),
}
PUBLIC_MATRIX = {
    action: tuple(403 if role == "outsider" else status for role, status in zip(ROLES, row, strict=True))
    for action, row in PRIVATE_MATRIX.items()
}


@pytest.mark.parametrize(("kind", "matrix"), [("private", PRIVATE_MATRIX), ("public", PUBLIC_MATRIX)])
@pytest.mark.parametrize("action", list(ACTIONS))
def test_permissions_matrix(app, client, make_user, kind, matrix, action):
    cast = make_cast(client, make_user, kind)
    method, suffix, body = ACTIONS[action]
    got = {}
    for role in ROLES:
        message = sent(client, cast.users["author"], cast.room_id, f"for the {role}")
        before = message_rows(app, room_id=cast.room_id)
        path = messages_path(cast.room_id) + suffix.format(message=message["id"])
        response = client.open(path, method=method, headers=cast.headers(role), json=body)
        got[role] = response.status_code
        if response.status_code >= 400:
            assert_error(response, response.status_code)
            assert get_message(client, cast.users["author"], cast.room_id, message["id"]) == message
            assert message_rows(app, room_id=cast.room_id) == before
    assert got == dict(zip(ROLES, matrix[action], strict=True))


def test_a_removed_member_loses_sight_of_a_private_rooms_messages(client, alice, bob, lounge):
    message = sent(client, bob, lounge, "I was here")
    assert client.delete(room_path(lounge, "members", bob.id), headers=alice.headers).status_code == 204
    assert_error(client.get(messages_path(lounge), headers=bob.headers), 404)
    assert_error(client.get(messages_path(lounge, message["id"]), headers=bob.headers), 404)
    assert_error(send(client, bob, lounge, "still here?"), 404)


ENDPOINTS = [
    ("GET", "{room}", None, "messages:read"),
    ("POST", "{room}", {"body": "hi"}, "messages:write"),
    ("GET", "{room}/{message}", None, "messages:read"),
    ("PATCH", "{room}/{message}", {"body": "changed"}, "messages:write"),
    ("DELETE", "{room}/{message}", None, "messages:write"),
    ("GET", "{room}/{message}/replies", None, "messages:read"),
]
ENDPOINT_IDS = [f"{method} {path}" for method, path, _, _ in ENDPOINTS]
OTHER_SCOPE = {"messages:read": "messages:write", "messages:write": "messages:read"}
SUCCESS = {"GET": 200, "POST": 201, "PATCH": 200, "DELETE": 204}


@pytest.fixture
def setting(client, alice, bob) -> Callable[[str], str]:
    """A public room alice owns with bob in it and alice's message; resolves an ENDPOINTS path."""
    room_id = create_room_id(client, alice, kind="public", members=["bob"])
    message = sent(client, alice, room_id, "the message")

    def resolve(path: str) -> str:
        return path.format(room=messages_path(room_id), message=message["id"])

    return resolve


@pytest.mark.parametrize(("method", "path", "body", "scope"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_no_token_is_a_401_with_a_bearer_challenge(client, setting, method, path, body, scope):
    response = client.open(setting(path), method=method, json=body)
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "body", "scope"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_a_garbage_token_is_a_401_invalid_token(client, setting, method, path, body, scope):
    response = client.open(setting(path), method=method, json=body, headers=bearer("not-a-token"))
    assert_error(response, 401)
    assert "invalid_token" in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(("method", "path", "body", "scope"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_a_token_without_the_needed_messages_scope_is_a_403_insufficient_scope(
    app, client, alice, setting, method, path, body, scope
):
    mark = last_event_id(app)
    for wrong in (OTHER_SCOPE[scope], "users:read users:write rooms:read rooms:write"):
        response = client.open(
            setting(path), method=method, json=body, headers=bearer(alice.token_with(wrong))
        )
        assert_error(response, 403)
        assert "insufficient_scope" in response.headers["WWW-Authenticate"]
    assert events_since(app, mark) == []


@pytest.mark.parametrize(("method", "path", "body", "scope"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_the_needed_messages_scope_alone_is_enough(client, alice, setting, method, path, body, scope):
    response = client.open(setting(path), method=method, json=body, headers=bearer(alice.token_with(scope)))
    assert response.status_code == SUCCESS[method], response.get_json()


# --- events (outbox) ---------------------------------------------------------------------------


def test_sending_records_message_created_and_the_senders_read_marker_moving_to_it(app, client, alice, lounge):
    mark = last_event_id(app)
    message = sent(client, alice, lounge, "news")
    assert events_since(app, mark) == sending(message)


def test_a_message_is_answered_as_its_event_carries_it_and_as_it_is_read(app, client, make_user, alice):
    """The answer to a send is made from what it wrote, not read back: it is the event's data, and
    what a reader gets, for an author with a display name and a reply with a client_msg_id."""
    dave = make_user("dave", display_name="Dave Δ")
    room_id = create_room_id(client, alice, members=["dave"])
    parent = sent(client, alice, room_id, "ping")
    mark = last_event_id(app)
    reply = sent(client, dave, room_id, "pong", parent_id=parent["id"], client_msg_id="c-1")
    assert reply["author"] == author_of(dave) and reply["author"]["display_name"] == "Dave Δ"
    assert events_since(app, mark) == sending(reply)
    assert get_message(client, alice, room_id, reply["id"]) == reply


def test_a_reply_records_message_created_with_its_parent_id(app, client, alice, bob, lounge):
    parent = sent(client, alice, lounge, "q")
    mark = last_event_id(app)
    reply = sent(client, bob, lounge, "a", parent_id=parent["id"])
    [(type_, room_id, data), _read] = events_since(app, mark)
    assert (type_, room_id, data, data["parent_id"]) == ("message.created", lounge, reply, parent["id"])


def test_editing_records_message_updated_with_the_edited_message(app, client, alice, lounge):
    message = sent(client, alice, lounge, "draft")
    mark = last_event_id(app)
    edited = edit(client, alice, lounge, message["id"], "final").get_json()
    assert events_since(app, mark) == [("message.updated", lounge, edited)]
    assert edited["body"] == "final"


def test_deleting_records_message_deleted_with_the_tombstone(app, client, alice, bob, lounge):
    message = sent(client, bob, lounge, "regret")
    mark = last_event_id(app)
    assert delete(client, alice, lounge, message["id"]).status_code == 204
    tombstone = get_message(client, bob, lounge, message["id"])
    assert events_since(app, mark) == [("message.deleted", lounge, tombstone)]
    assert (tombstone["body"], tombstone["deleted"]) == ("", True)


def test_refused_and_repeated_changes_record_no_event(app, client, alice, bob, lounge):
    message = sent(client, alice, lounge, "mine", client_msg_id="c1")
    assert delete(client, alice, lounge, message["id"]).status_code == 204
    other = sent(client, alice, lounge, "also mine")
    mark = last_event_id(app)
    assert send(client, alice, lounge, "again", client_msg_id="c1").status_code == 200
    assert delete(client, alice, lounge, message["id"]).status_code == 204
    assert edit(client, bob, lounge, other["id"]).status_code == 403
    assert delete(client, bob, lounge, other["id"]).status_code == 403
    assert edit(client, alice, lounge, message["id"]).status_code == 409
    assert send(client, alice, lounge, "").status_code == 422
    assert events_since(app, mark) == []


# --- query plans (SQLite) ----------------------------------------------------------------------


def fill_room(app, client, author, room_id: int, count: int) -> tuple[int, int]:
    """`count` messages in the room: one through the API, the rest in bulk, about 30 of them (spread
    out) replies to the first, whatever the room's size; returns (the first's id, the middle one's id)."""
    parent = sent(client, author, room_id, "thread starter")["id"]
    now = datetime.now(UTC)
    rows = [
        {
            "room_id": room_id,
            "author_id": author.id,
            "body": f"bulk {n}",
            "parent_id": parent if n % ((count - 1) // 30) == 0 else None,
            "created_at": now,
        }
        for n in range(count - 1)
    ]
    with app.app_context():
        db.session.execute(insert(Message), rows)
        db.session.commit()
        ids = select(Message.id).where(Message.room_id == room_id).order_by(Message.id)
        middle = db.session.scalar(ids.offset(count // 2).limit(1))
        newest = db.session.scalar(select(func.max(Message.id)).where(Message.room_id == room_id))
    assert middle is not None and newest is not None
    mark_read(client, author, room_id, newest)
    return parent, middle


def history_requests(room_id: int, parent: int, middle: int) -> list[tuple[str, dict[str, Any]]]:
    path = messages_path(room_id)
    replies = messages_path(room_id, parent, "replies")
    return [
        (path, {}),
        (path, {"before": middle}),
        (path, {"after": middle}),
        (replies, {}),
        (replies, {"before": middle}),
        (replies, {"after": parent}),
    ]


def captured_statements(app, client, user, calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, Any]]:
    """(SQL, parameters) of every SELECT the requests ran."""
    statements: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", capture)
        try:
            for path, params in calls:
                assert get_page(client, user, path, **params).get_json() != []
        finally:
            event.remove(engine, "before_cursor_execute", capture)
    return statements


def query_plans(app, statements: list[tuple[str, Any]]) -> list[tuple[str, list[str]]]:
    """(SQL, EXPLAIN QUERY PLAN lines) with the parameters each statement ran with."""
    with app.app_context():
        connection = db.session.connection()
        return [
            (sql, [row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters)])
            for sql, parameters in statements
        ]


def page_time_ms(client, user, path: str, runs: int = 7) -> float:
    """The best of a few timings of one history page (the first warms caches)."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path, headers=user.headers)
        best = min(best, time.perf_counter() - start)
        assert response.status_code == 200
    return best * 1000


def test_history_pages_search_indexes_with_the_same_plan_for_100_or_100000_messages(app, client, alice):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("EXPLAIN QUERY PLAN output is SQLite's")
    plans, timings = [], []
    for size in (100, 100_000):
        room_id = create_room_id(client, alice, name=f"{size} messages")
        parent, middle = fill_room(app, client, alice, room_id, size)
        assert message_rows(app, room_id=room_id) == size
        statements = captured_statements(app, client, alice, history_requests(room_id, parent, middle))
        plans.append(query_plans(app, statements))
        timings.append(page_time_ms(client, alice, messages_path(room_id)))
    small, large = plans
    lines = [line for _, plan in small for line in plan]
    assert any("ix_messages_room_id_id" in line for line in lines), lines
    assert any("ix_messages_parent_id_id" in line for line in lines), lines
    for sql, plan in small + large:
        scans = [line for line in plan if re.match(r"SCAN messages\b|SCAN messages_\d+\b", line)]
        assert scans == [], (sql, plan)
        for line in plan:
            if re.match(r"SEARCH messages(_\d+)?\b", line):
                assert re.search(r"USING (COVERING INDEX|INDEX|INTEGER PRIMARY KEY)", line), (sql, plan)
    assert [plan for _, plan in large] == [plan for _, plan in small]
    # Relationship loads list a page's ids (IN (?, ?, …)): their number is the page's, not the room's.
    in_list = re.compile(r"IN \((\?, )*\?\)")
    assert [in_list.sub("IN (…)", sql) for sql, _ in large] == [
        in_list.sub("IN (…)", sql) for sql, _ in small
    ]
    print(f"history page: 100 msgs {timings[0]:.2f} ms, 100000 msgs {timings[1]:.2f} ms")
