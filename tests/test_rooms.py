"""The rooms module over HTTP: rooms, members, roles, read markers and their events (docs/api.md, Rooms)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.modules.invites.models import Invite
from app.modules.messages.models import Message
from app.modules.messages.services import delete_message, send_message
from app.modules.rooms.models import Membership
from app.modules.rooms.models import Room as RoomRow
from app.modules.users.models import User as UserRow
from tests import outbox
from tests.assertions import assert_error, assert_invalid, assert_utc_timestamp
from tests.bans import ban
from tests.conftest import PASSWORD, bearer
from tests.outbox import last_event_id
from tests.rooms import ROOM_FIELDS, ROOMS, create_room, room_path
from tests.statements import counted_statements

DIRECT = f"{ROOMS}/direct"
MEMBER_FIELDS = {"user", "role", "joined_at", "last_read_message_id"}
YEAR = 365 * 24 * 3600


# --- helpers -----------------------------------------------------------------------------------


def get_room(client, user, room_id: int) -> dict[str, Any]:
    response = client.get(room_path(room_id), headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def my_rooms(client, user, **params: Any):
    response = client.get(ROOMS, headers=user.headers, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response


def room_names(response) -> list[str]:
    return [room["name"] for room in response.get_json()]


def room_ids(response) -> list[int]:
    return [room["id"] for room in response.get_json()]


def members_of(client, user, room_id: int) -> dict[int, str]:
    """{user id: role} of the room, as `user` sees it."""
    response = client.get(room_path(room_id, "members"), headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return {member["user"]["id"]: member["role"] for member in response.get_json()}


def add_member(client, by, room_id: int, username: str):
    return client.post(room_path(room_id, "members"), headers=by.headers, json={"username": username})


def set_role(client, by, room_id: int, user_ref: Any, role: str):
    return client.patch(room_path(room_id, "members", user_ref), headers=by.headers, json={"role": role})


def remove(client, by, room_id: int, user_ref: Any):
    return client.delete(room_path(room_id, "members", user_ref), headers=by.headers)


def mark_read(client, user, room_id: int, message_id: Any, headers: dict[str, str] | None = None):
    return client.put(
        room_path(room_id, "read"), headers=headers or user.headers, json={"message_id": message_id}
    )


def direct(client, user, username: str):
    return client.post(DIRECT, headers=user.headers, json={"username": username})


def post(app, room_id: int, user_id: int, body: str = "hello") -> int:
    """A message through the messages service."""
    with app.app_context():
        room = db.session.get(RoomRow, room_id)
        author = db.session.get(UserRow, user_id)
        assert room is not None and author is not None
        sent, created = send_message(room, author, body=body)
        assert created and not isinstance(sent, Message)  # a new message comes as shown
        return sent["id"]


def tombstone(app, message_id: int) -> None:
    """Delete a message through the messages service (it leaves a tombstone)."""
    with app.app_context():
        message = db.session.get(Message, message_id)
        assert message is not None
        delete_message(message)


def count_rows(app, model: Any, **where: Any) -> int:
    with app.app_context():
        stmt = select(func.count()).select_from(model).filter_by(**where)
        return db.session.execute(stmt).scalar_one()


events_since = partial(outbox.events_since, fields=("type", "room_id", "user_id", "data"))


def pagination(response) -> dict[str, int]:
    return json.loads(response.headers["X-Pagination"])


def assert_room(body: dict[str, Any], **expected: Any) -> None:
    """Exactly the Room fields, with `expected` values."""
    assert set(body) == ROOM_FIELDS
    assert {key: body[key] for key in expected} == expected
    assert isinstance(body["id"], int)
    assert_utc_timestamp(body["created_at"])


def assert_message(body: dict[str, Any], *, message_id: int, room_id: int, author, text: str, deleted=False):
    """The Message fields the rooms module relies on (the messages issue adds more)."""
    assert {
        "id": body["id"],
        "room_id": body["room_id"],
        "author": body["author"],
        "body": body["body"],
        "parent_id": body["parent_id"],
        "edited_at": body["edited_at"],
        "deleted": body["deleted"],
    } == {
        "id": message_id,
        "room_id": room_id,
        "author": {"id": author.id, "username": author.username, "display_name": author.data["display_name"]},
        "body": text,
        "parent_id": None,
        "edited_at": None,
        "deleted": deleted,
    }
    assert_utc_timestamp(body["created_at"])


def assert_location(response, path: str) -> None:
    assert urlsplit(response.headers["Location"]).path == path


@pytest.fixture
def dave(make_user):
    return make_user("dave")


@pytest.fixture
def general_id(app) -> int:
    with app.app_context():
        general = db.session.scalar(select(RoomRow.id).where(RoomRow.name == app.config["GENERAL_ROOM_NAME"]))
    assert general is not None
    return general


# --- POST /rooms -------------------------------------------------------------------------------


def test_creating_a_room_answers_201_with_the_room_and_its_location(client, alice):
    response = client.post(ROOMS, headers=alice.headers, json={"name": "lounge"})
    assert response.status_code == 201
    body = response.get_json()
    assert_room(
        body,
        name="lounge",
        topic="",
        kind="private",
        owner_id=alice.id,
        member_count=1,
        unread_count=0,
        last_message=None,
        message_ttl_seconds=None,
        role="owner",
    )
    assert_location(response, room_path(body["id"]))
    assert get_room(client, alice, body["id"]) == body


def test_a_new_room_keeps_what_was_sent_untrimmed(client, alice):
    body = create_room(
        client, alice, name="  Lounge  ", topic=" tea & talk ", kind="public", message_ttl_seconds=60
    )
    assert_room(body, name="  Lounge  ", topic=" tea & talk ", kind="public", message_ttl_seconds=60)


@pytest.mark.parametrize("ttl", [60, YEAR, None])
def test_a_message_ttl_from_a_minute_to_a_year_or_none_is_accepted(client, alice, ttl):
    assert create_room(client, alice, message_ttl_seconds=ttl)["message_ttl_seconds"] == ttl


def test_members_named_at_creation_join_as_plain_members(client, alice, bob, carol):
    room = create_room(client, alice, members=["bob", "CAROL", "alice", "bob"])
    assert room["member_count"] == 3
    assert members_of(client, alice, room["id"]) == {alice.id: "owner", bob.id: "member", carol.id: "member"}
    assert get_room(client, carol, room["id"])["role"] == "member"


def test_unknown_member_usernames_are_a_422_naming_members_and_create_no_room(client, alice, bob):
    response = client.post(ROOMS, headers=alice.headers, json={"name": "x", "members": ["bob", "nobody"]})
    assert_invalid(response, "json", "members")
    assert room_names(my_rooms(client, bob)) == ["general"]
    assert room_names(my_rooms(client, alice)) == ["general"]


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"name": ""}, "name"),
        ({"name": "n" * 101}, "name"),
        ({"name": None}, "name"),
        ({"topic": "t" * 501}, "topic"),
        ({"kind": "direct"}, "kind"),
        ({"kind": "secret"}, "kind"),
        ({"message_ttl_seconds": 59}, "message_ttl_seconds"),
        ({"message_ttl_seconds": YEAR + 1}, "message_ttl_seconds"),
        ({"message_ttl_seconds": "soon"}, "message_ttl_seconds"),
        ({"members": "bob"}, "members"),
        ({"owner_id": 1}, "owner_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_an_invalid_room_is_a_422_naming_the_field_and_creates_nothing(client, alice, fields, bad_field):
    response = client.post(ROOMS, headers=alice.headers, json={"name": "lounge", **fields})
    assert_invalid(response, "json", bad_field)
    assert room_names(my_rooms(client, alice)) == ["general"]


def test_a_room_without_a_name_is_a_422_naming_it(client, alice):
    assert_invalid(client.post(ROOMS, headers=alice.headers, json={"kind": "public"}), "json", "name")


def test_a_body_that_is_not_json_is_a_400(client, alice):
    response = client.post(ROOMS, headers=alice.headers, data="name=x", content_type="text/plain")
    assert_error(response, 400)
    assert room_names(my_rooms(client, alice)) == ["general"]


def test_a_100_character_name_is_accepted(client, alice):
    assert create_room(client, alice, name="n" * 100)["name"] == "n" * 100


# --- GET /rooms --------------------------------------------------------------------------------


def test_the_room_list_shows_only_the_callers_rooms(client, alice, bob):
    mine = create_room(client, alice, name="mine")
    shared = create_room(client, bob, name="shared", members=["alice"])
    create_room(client, bob, name="bobs private")
    create_room(client, bob, name="bobs public", kind="public")
    response = my_rooms(client, alice)
    assert set(room_names(response)) == {"mine", "shared", "general"}
    assert {mine["id"], shared["id"]} <= set(room_ids(response))
    for room in response.get_json():
        assert set(room) == ROOM_FIELDS
        assert room["role"] in ("owner", "member")


def test_the_room_list_is_ordered_by_last_activity(app, client, alice):
    older, middle, _newer = (create_room(client, alice, name=name) for name in ("older", "middle", "newer"))
    assert room_names(my_rooms(client, alice)) == ["newer", "middle", "older", "general"]
    post(app, older["id"], alice.id)
    assert room_names(my_rooms(client, alice)) == ["older", "newer", "middle", "general"]
    post(app, middle["id"], alice.id)
    assert room_names(my_rooms(client, alice)) == ["middle", "older", "newer", "general"]


def test_the_room_list_defaults_to_pages_of_20_with_an_x_pagination_header(client, alice):
    create_room(client, alice)
    assert pagination(my_rooms(client, alice)) == {"total": 2, "total_pages": 1, "page": 1, "page_size": 20}


def test_the_room_list_pages_split_the_rooms_in_order(client, alice):
    for index in range(4):
        create_room(client, alice, name=f"room {index}")
    first = my_rooms(client, alice, page_size=2)
    assert pagination(first) == {"total": 5, "total_pages": 3, "page": 1, "page_size": 2}
    pages = [room_names(my_rooms(client, alice, page=page, page_size=2)) for page in (1, 2, 3)]
    assert pages == [["room 3", "room 2"], ["room 1", "room 0"], ["general"]]


@pytest.mark.parametrize(
    ("params", "bad_field"),
    [({"page_size": 101}, "page_size"), ({"page_size": 0}, "page_size"), ({"page": 0}, "page")],
)
def test_out_of_range_pagination_is_a_422_naming_the_parameter(client, alice, params, bad_field):
    assert_invalid(client.get(ROOMS, headers=alice.headers, query_string=params), "query", bad_field)


def test_scope_public_lists_every_public_room_and_no_private_or_direct_one(client, alice, bob):
    create_room(client, alice, name="alices private")
    create_room(client, alice, name="alices public", kind="public")
    bobs = create_room(client, bob, name="bobs public", kind="public")
    direct(client, alice, "bob")
    response = my_rooms(client, alice, scope="public")
    assert set(room_names(response)) == {"general", "alices public", "bobs public"}
    listed = {room["id"]: room for room in response.get_json()}
    assert listed[bobs["id"]]["role"] is None
    assert listed[bobs["id"]]["unread_count"] == 0
    assert pagination(response)["total"] == 3


def test_an_unknown_scope_is_a_422_naming_it(client, alice):
    response = client.get(ROOMS, headers=alice.headers, query_string={"scope": "all"})
    assert_invalid(response, "query", "scope")


# --- GET /rooms/{id} ---------------------------------------------------------------------------


def test_a_public_rooms_outsider_sees_it_without_a_role(client, alice, bob):
    room = create_room(client, alice, kind="public", topic="open")
    body = get_room(client, bob, room["id"])
    assert_room(body, id=room["id"], topic="open", kind="public", role=None, unread_count=0, member_count=1)


def test_a_private_room_is_a_404_for_an_outsider_just_like_an_unknown_room(client, alice, bob):
    room = create_room(client, alice)
    hidden = assert_error(client.get(room_path(room["id"]), headers=bob.headers), 404)
    unknown = assert_error(client.get(room_path(999999), headers=bob.headers), 404)
    assert hidden == unknown


@pytest.mark.parametrize("room_id", [2**31, 2**63, 10**30])
@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", ""), ("DELETE", ""), ("POST", "/join")], ids=["get", "delete", "join"]
)
def test_a_room_id_beyond_the_integer_range_is_a_404(client, alice, room_id, method, suffix):
    assert_error(client.open(room_path(room_id) + suffix, method=method, headers=alice.headers), 404)


# --- PATCH /rooms/{id} -------------------------------------------------------------------------


def test_an_admin_renames_a_room_and_changes_its_topic_and_ttl(client, alice, bob):
    room = create_room(client, alice, members=["bob"], message_ttl_seconds=600)
    set_role(client, alice, room["id"], bob.id, "admin")
    response = client.patch(
        room_path(room["id"]),
        headers=bob.headers,
        json={"name": "den", "topic": "quiet", "message_ttl_seconds": 120},
    )
    assert response.status_code == 200
    assert_room(
        response.get_json(),
        id=room["id"],
        name="den",
        topic="quiet",
        message_ttl_seconds=120,
        role="admin",
        owner_id=alice.id,
        member_count=2,
    )
    assert get_room(client, alice, room["id"])["name"] == "den"


@pytest.mark.parametrize("changes", [{"name": "spam"}, {"topic": "spam"}])
def test_a_banned_admin_can_neither_rename_a_room_nor_change_its_topic(
    app, client, make_user, alice, bob, changes
):
    room = create_room(client, alice, members=["bob"], topic="calm")
    set_role(client, alice, room["id"], bob.id, "admin")
    ban(app, client, make_user, bob)
    mark = last_event_id(app)
    response = client.patch(room_path(room["id"]), headers=bob.headers, json=changes)
    assert_error(response, 403)
    assert response.headers["X-Banned-Until"]
    assert (get_room(client, alice, room["id"])["name"], get_room(client, alice, room["id"])["topic"]) == (
        room["name"],
        "calm",
    )
    assert outbox.events_since(app, mark) == []


def test_a_null_ttl_keeps_messages_until_deleted(client, alice):
    room = create_room(client, alice, message_ttl_seconds=600)
    response = client.patch(room_path(room["id"]), headers=alice.headers, json={"message_ttl_seconds": None})
    assert response.status_code == 200
    assert response.get_json()["message_ttl_seconds"] is None


def test_a_patch_changes_only_the_fields_sent(client, alice):
    room = create_room(client, alice, topic="keep", message_ttl_seconds=600)
    body = client.patch(room_path(room["id"]), headers=alice.headers, json={"name": "renamed"}).get_json()
    assert (body["name"], body["topic"], body["message_ttl_seconds"]) == ("renamed", "keep", 600)


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"name": ""}, "name"),
        ({"name": "n" * 101}, "name"),
        ({"topic": "t" * 501}, "topic"),
        ({"message_ttl_seconds": 59}, "message_ttl_seconds"),
        ({"message_ttl_seconds": "an hour"}, "message_ttl_seconds"),
        ({"kind": "public"}, "kind"),
        ({"owner_id": 2}, "owner_id"),
    ],
)
def test_an_invalid_room_change_is_a_422_naming_the_field_and_changes_nothing(
    client, alice, fields, bad_field
):
    room = create_room(client, alice)
    assert_invalid(client.patch(room_path(room["id"]), headers=alice.headers, json=fields), "json", bad_field)
    assert get_room(client, alice, room["id"]) == room


# --- DELETE /rooms/{id} ------------------------------------------------------------------------


def test_deleting_a_room_removes_it_with_its_messages_for_everyone(app, client, alice, bob):
    room = create_room(client, alice, kind="public", members=["bob"])
    post(app, room["id"], alice.id)
    post(app, room["id"], bob.id)
    client.post(room_path(room["id"], "invites"), headers=alice.headers, json={})
    response = client.delete(room_path(room["id"]), headers=alice.headers)
    assert response.status_code == 204
    assert response.data == b""
    for user in (alice, bob):
        assert_error(client.get(room_path(room["id"]), headers=user.headers), 404)
        assert room["id"] not in room_ids(my_rooms(client, user))
    assert room["id"] not in room_ids(my_rooms(client, bob, scope="public"))
    for model in (Message, Membership, Invite):
        assert count_rows(app, model, room_id=room["id"]) == 0
    assert count_rows(app, RoomRow, id=room["id"]) == 0


def test_deleting_a_room_leaves_other_rooms_messages(app, client, alice):
    doomed, kept = create_room(client, alice, name="doomed"), create_room(client, alice, name="kept")
    post(app, doomed["id"], alice.id)
    message_id = post(app, kept["id"], alice.id)
    client.delete(room_path(doomed["id"]), headers=alice.headers)
    assert get_room(client, alice, kept["id"])["last_message"]["id"] == message_id
    assert count_rows(app, Message, room_id=kept["id"]) == 1


# --- POST /rooms/direct ------------------------------------------------------------------------


def test_a_direct_room_is_created_once_and_found_again_from_either_side(client, alice, bob):
    first = direct(client, alice, "bob")
    assert first.status_code == 201
    body = first.get_json()
    assert_room(
        body,
        name="",
        kind="direct",
        owner_id=None,
        member_count=2,
        unread_count=0,
        last_message=None,
        role="member",
    )
    assert_location(first, room_path(body["id"]))
    again, reverse = direct(client, alice, "BOB"), direct(client, bob, "alice")
    assert (again.status_code, reverse.status_code) == (200, 200)
    assert again.get_json()["id"] == reverse.get_json()["id"] == body["id"]
    assert members_of(client, bob, body["id"]) == {alice.id: "member", bob.id: "member"}


def test_each_pair_of_users_has_its_own_direct_room(client, alice, bob, carol):
    with_bob = direct(client, alice, "bob").get_json()["id"]
    with_carol = direct(client, alice, "carol").get_json()["id"]
    assert with_bob != with_carol
    assert_error(client.get(room_path(with_bob), headers=carol.headers), 404)


@pytest.mark.parametrize("username", ["nobody", "alice", "ALICE"])
def test_a_direct_room_with_an_unknown_user_or_yourself_is_a_422_naming_username(client, alice, username):
    assert_invalid(direct(client, alice, username), "json", "username")
    assert room_names(my_rooms(client, alice)) == ["general"]


@pytest.mark.parametrize(("body", "bad_field"), [({}, "username"), ({"username": "bob", "x": 1}, "x")])
def test_an_invalid_direct_room_request_is_a_422_naming_the_field(client, alice, bob, body, bad_field):
    assert_invalid(client.post(DIRECT, headers=alice.headers, json=body), "json", bad_field)


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("PATCH", "", {"name": "ours"}),
        ("POST", "/invites", {}),
        ("POST", "/members", {"username": "carol"}),
    ],
)
def test_a_direct_room_cannot_be_changed_opened_with_invites_or_grown(
    client, alice, bob, carol, method, suffix, body
):
    room = direct(client, alice, "bob").get_json()
    response = client.open(room_path(room["id"]) + suffix, method=method, headers=alice.headers, json=body)
    assert_error(response, 403)
    assert get_room(client, alice, room["id"]) == room


def test_asking_again_for_a_direct_room_after_leaving_it_gives_it_back(client, alice, bob):
    """Whether leaving a direct room is refused or allowed, POST /rooms/direct never loses it."""
    room = direct(client, alice, "bob").get_json()
    remove(client, alice, room["id"], "me")
    response = direct(client, alice, "bob")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["id"] == room["id"]
    assert get_room(client, alice, room["id"])["role"] == "member"


# --- POST /rooms/{id}/join ---------------------------------------------------------------------


def test_joining_a_public_room_makes_you_a_member_and_again_is_a_200_no_op(app, client, alice, bob):
    room = create_room(client, alice, kind="public")
    first = client.post(room_path(room["id"], "join"), headers=bob.headers)
    assert first.status_code == 200
    assert_room(first.get_json(), id=room["id"], role="member", member_count=2)
    assert room["id"] in room_ids(my_rooms(client, bob))
    mark = last_event_id(app)
    again = client.post(room_path(room["id"], "join"), headers=bob.headers)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert events_since(app, mark) == []


def test_joining_a_private_room_is_a_404_when_invisible_and_a_403_when_visible(client, alice, bob, carol):
    room = create_room(client, alice, members=["bob"])
    assert_error(client.post(room_path(room["id"], "join"), headers=bob.headers), 403)
    assert_error(client.post(room_path(room["id"], "join"), headers=carol.headers), 404)
    assert_error(client.post(room_path(999999, "join"), headers=carol.headers), 404)
    assert members_of(client, alice, room["id"]) == {alice.id: "owner", bob.id: "member"}


def test_joining_a_direct_room_you_are_not_in_is_a_404(client, alice, bob, carol):
    room = direct(client, alice, "bob").get_json()
    assert_error(client.post(room_path(room["id"], "join"), headers=carol.headers), 404)


# --- GET, POST /rooms/{id}/members -------------------------------------------------------------


def test_members_are_listed_in_order_of_joining_with_their_public_profile(client, make_user, alice):
    erin = make_user("erin", email="erin@example.com", display_name="Erin")
    room = create_room(client, alice, kind="public")
    client.post(room_path(room["id"], "join"), headers=erin.headers)
    response = client.get(room_path(room["id"], "members"), headers=alice.headers)
    assert response.status_code == 200
    assert pagination(response) == {"total": 2, "total_pages": 1, "page": 1, "page_size": 20}
    owner, member = response.get_json()
    assert set(owner) == set(member) == MEMBER_FIELDS
    assert (owner["user"]["id"], owner["role"], member["user"]["id"], member["role"]) == (
        alice.id,
        "owner",
        erin.id,
        "member",
    )
    assert member["user"]["username"] == "erin"
    assert member["user"]["display_name"] == "Erin"
    assert "email" not in member["user"]
    assert member["last_read_message_id"] == 0
    assert_utc_timestamp(member["joined_at"])
    assert owner["joined_at"] <= member["joined_at"]


def test_members_are_paginated(client, alice, bob, carol):
    room = create_room(client, alice, members=["bob", "carol"])
    response = client.get(
        room_path(room["id"], "members"), headers=alice.headers, query_string={"page_size": 2}
    )
    assert pagination(response) == {"total": 3, "total_pages": 2, "page": 1, "page_size": 2}
    assert len(response.get_json()) == 2


def test_any_member_adds_a_user_who_then_sees_the_room(client, alice, bob, carol):
    room = create_room(client, alice, members=["bob"])
    response = add_member(client, bob, room["id"], "Carol")
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == MEMBER_FIELDS
    assert (body["user"]["id"], body["role"]) == (carol.id, "member")
    assert_location(response, room_path(room["id"], "members", carol.id))
    assert get_room(client, carol, room["id"])["member_count"] == 3
    assert room["id"] in room_ids(my_rooms(client, carol))


@pytest.mark.parametrize("username", ["bob", "BOB", "alice"])
def test_adding_someone_already_in_the_room_is_a_409(client, alice, bob, username):
    room = create_room(client, alice, members=["bob"])
    assert_error(add_member(client, alice, room["id"], username), 409)
    assert get_room(client, alice, room["id"])["member_count"] == 2


@pytest.mark.parametrize(
    ("body", "bad_field"),
    [({"username": "nobody"}, "username"), ({}, "username"), ({"username": "bob", "role": "admin"}, "role")],
)
def test_an_invalid_member_addition_is_a_422_naming_the_field(client, alice, bob, body, bad_field):
    room = create_room(client, alice)
    response = client.post(room_path(room["id"], "members"), headers=alice.headers, json=body)
    assert_invalid(response, "json", bad_field)
    assert members_of(client, alice, room["id"]) == {alice.id: "owner"}


# --- PATCH /rooms/{id}/members/{user_id} -------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "member"])
def test_the_owner_sets_a_members_role(client, alice, bob, role):
    room = create_room(client, alice, members=["bob"])
    set_role(client, alice, room["id"], bob.id, "admin")
    response = set_role(client, alice, room["id"], bob.id, role)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == MEMBER_FIELDS
    assert (body["user"]["id"], body["role"]) == (bob.id, role)
    assert get_room(client, bob, room["id"])["role"] == role


def test_giving_owner_transfers_ownership_and_the_old_owner_becomes_admin(client, alice, bob):
    room = create_room(client, alice, members=["bob"])
    response = set_role(client, alice, room["id"], bob.id, "owner")
    assert response.status_code == 200
    assert response.get_json()["role"] == "owner"
    assert members_of(client, bob, room["id"]) == {alice.id: "admin", bob.id: "owner"}
    assert get_room(client, alice, room["id"])["owner_id"] == bob.id
    # The new owner holds the owner's powers, the old one no longer does.
    assert_error(client.delete(room_path(room["id"]), headers=alice.headers), 403)
    assert_error(set_role(client, alice, room["id"], bob.id, "member"), 403)
    assert set_role(client, bob, room["id"], alice.id, "member").status_code == 200


def test_the_owner_cannot_leave_until_they_transfer_ownership(client, alice, bob):
    room = create_room(client, alice, members=["bob"])
    for ref in ("me", alice.id):
        assert_error(remove(client, alice, room["id"], ref), 409)
    assert members_of(client, alice, room["id"])[alice.id] == "owner"
    set_role(client, alice, room["id"], bob.id, "owner")
    assert remove(client, alice, room["id"], "me").status_code == 204
    assert members_of(client, bob, room["id"]) == {bob.id: "owner"}
    assert_error(client.get(room_path(room["id"]), headers=alice.headers), 404)


@pytest.mark.parametrize("role", ["admin", "member", "owner"])
@pytest.mark.parametrize("ref", ["me", "own id"])
def test_the_owner_cannot_change_their_own_role(client, alice, role, ref):
    room = create_room(client, alice)
    assert_error(set_role(client, alice, room["id"], alice.id if ref == "own id" else "me", role), 409)
    assert get_room(client, alice, room["id"])["role"] == "owner"


@pytest.mark.parametrize(
    ("body", "bad_field"), [({"role": "boss"}, "role"), ({}, "role"), ({"role": "admin", "x": 1}, "x")]
)
def test_an_invalid_role_change_is_a_422_naming_the_field(client, alice, bob, body, bad_field):
    room = create_room(client, alice, members=["bob"])
    response = client.patch(room_path(room["id"], "members", bob.id), headers=alice.headers, json=body)
    assert_invalid(response, "json", bad_field)
    assert members_of(client, alice, room["id"])[bob.id] == "member"


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize("ref", ["999999", "someone", "-1", "²", str(2**31), str(2**63), "{carol}"])
def test_a_user_who_is_not_a_member_is_a_404_as_a_member(client, alice, bob, carol, method, ref):
    room = create_room(client, alice, members=["bob"])
    path = room_path(room["id"], "members", ref.format(carol=carol.id))
    assert_error(client.open(path, method=method, headers=alice.headers, json={"role": "admin"}), 404)


# --- DELETE /rooms/{id}/members/{user_id} ------------------------------------------------------


def test_a_member_leaves_with_me_and_loses_sight_of_the_private_room(client, alice, bob):
    room = create_room(client, alice, members=["bob"])
    response = remove(client, bob, room["id"], "me")
    assert response.status_code == 204
    assert response.data == b""
    assert_error(client.get(room_path(room["id"]), headers=bob.headers), 404)
    assert room["id"] not in room_ids(my_rooms(client, bob))
    assert get_room(client, alice, room["id"])["member_count"] == 1


def test_a_member_may_leave_by_their_own_id(client, alice, bob):
    room = create_room(client, alice, members=["bob"])
    assert remove(client, bob, room["id"], bob.id).status_code == 204
    assert members_of(client, alice, room["id"]) == {alice.id: "owner"}


def test_a_kicked_user_no_longer_sees_the_private_room(client, alice, bob, carol):
    room = create_room(client, alice, members=["bob", "carol"])
    set_role(client, alice, room["id"], bob.id, "admin")
    response = remove(client, bob, room["id"], carol.id)
    assert response.status_code == 204
    assert response.data == b""
    assert_error(client.get(room_path(room["id"]), headers=carol.headers), 404)
    assert_error(client.get(room_path(room["id"], "members"), headers=carol.headers), 404)
    assert room["id"] not in room_ids(my_rooms(client, carol))
    assert members_of(client, alice, room["id"]) == {alice.id: "owner", bob.id: "admin"}


@pytest.mark.parametrize("victim", ["owner", "other admin"])
def test_an_admin_cannot_kick_an_admin_or_the_owner(client, alice, bob, carol, victim):
    room = create_room(client, alice, members=["bob", "carol"])
    for user in (bob, carol):
        set_role(client, alice, room["id"], user.id, "admin")
    target = alice if victim == "owner" else carol
    assert_error(remove(client, bob, room["id"], target.id), 403)
    assert members_of(client, alice, room["id"]) == {alice.id: "owner", bob.id: "admin", carol.id: "admin"}


def test_the_owner_kicks_an_admin(client, alice, bob):
    room = create_room(client, alice, members=["bob"])
    set_role(client, alice, room["id"], bob.id, "admin")
    assert remove(client, alice, room["id"], bob.id).status_code == 204
    assert members_of(client, alice, room["id"]) == {alice.id: "owner"}


def test_a_kicked_member_of_a_public_room_still_sees_it_but_not_its_members(client, alice, bob):
    room = create_room(client, alice, kind="public", members=["bob"])
    remove(client, alice, room["id"], bob.id)
    assert get_room(client, bob, room["id"])["role"] is None
    assert_error(client.get(room_path(room["id"], "members"), headers=bob.headers), 403)


# --- PUT /rooms/{id}/read, unread_count and last_message ---------------------------------------


def test_last_message_is_null_until_a_message_exists_then_the_newest_message(app, client, alice, bob):
    room = create_room(client, alice, members=["bob"])
    assert get_room(client, alice, room["id"])["last_message"] is None
    post(app, room["id"], alice.id, "first")
    newest = post(app, room["id"], bob.id, "second")
    body = get_room(client, alice, room["id"])["last_message"]
    assert_message(body, message_id=newest, room_id=room["id"], author=bob, text="second")
    listed = {r["id"]: r for r in my_rooms(client, alice).get_json()}
    assert listed[room["id"]]["last_message"] == body


def test_messages_from_another_member_raise_unread_and_the_read_marker_lowers_it(app, client, alice, bob):
    room = create_room(client, alice, members=["bob"])
    ids = [post(app, room["id"], bob.id, f"m{n}") for n in range(3)]
    assert get_room(client, alice, room["id"])["unread_count"] == 3
    response = mark_read(client, alice, room["id"], ids[1])
    assert response.status_code == 200
    assert_room(response.get_json(), id=room["id"], unread_count=1, role="owner")
    assert get_room(client, alice, room["id"])["unread_count"] == 1
    owner = client.get(room_path(room["id"], "members"), headers=alice.headers).get_json()[0]
    assert (owner["user"]["id"], owner["last_read_message_id"]) == (alice.id, ids[1])
    assert mark_read(client, alice, room["id"], ids[2]).get_json()["unread_count"] == 0


def test_moving_the_read_marker_back_is_a_200_no_op(app, client, alice, bob):
    room = create_room(client, alice, members=["bob"])
    ids = [post(app, room["id"], bob.id) for _ in range(3)]
    mark_read(client, alice, room["id"], ids[1])
    mark = last_event_id(app)
    for message_id in (ids[0], ids[1]):
        response = mark_read(client, alice, room["id"], message_id)
        assert response.status_code == 200
        assert response.get_json()["unread_count"] == 1
    assert events_since(app, mark) == []


def test_a_deleted_message_does_not_count_as_unread(app, client, alice, bob):
    room = create_room(client, alice, members=["bob"])
    kept, deleted = post(app, room["id"], bob.id, "kept"), post(app, room["id"], bob.id, "oops")
    tombstone(app, deleted)
    body = get_room(client, alice, room["id"])
    assert body["unread_count"] == 1
    assert_message(
        body["last_message"], message_id=deleted, room_id=room["id"], author=bob, text="", deleted=True
    )
    assert mark_read(client, alice, room["id"], kept).get_json()["unread_count"] == 0


def test_the_read_marker_is_per_user_and_shared_by_their_devices(app, client, alice, bob, carol):
    room = create_room(client, alice, members=["bob", "carol"])
    ids = [post(app, room["id"], carol.id) for _ in range(3)]
    phone = bearer(alice.token_with("rooms:read rooms:write"))
    mark_read(client, alice, room["id"], ids[0], headers=phone)
    assert get_room(client, alice, room["id"])["unread_count"] == 2
    assert client.get(room_path(room["id"]), headers=phone).get_json()["unread_count"] == 2
    assert get_room(client, bob, room["id"])["unread_count"] == 3


def test_unread_counts_are_per_room(app, client, alice, bob):
    busy = create_room(client, alice, name="busy", members=["bob"])
    quiet = create_room(client, alice, name="quiet")
    for _ in range(2):
        post(app, busy["id"], bob.id)
    listed = {room["name"]: room["unread_count"] for room in my_rooms(client, alice).get_json()}
    assert (listed["busy"], listed["quiet"]) == (2, 0)
    assert get_room(client, alice, quiet["id"])["unread_count"] == 0


@pytest.mark.parametrize("message", ["other room", 999999, 2**63, 0, -1, "x", None])
def test_a_read_marker_on_a_message_not_in_the_room_is_a_422_naming_message_id(
    app, client, alice, bob, message
):
    room, other = create_room(client, alice, members=["bob"]), create_room(client, alice, name="other")
    post(app, room["id"], bob.id)
    message_id = post(app, other["id"], alice.id) if message == "other room" else message
    assert_invalid(mark_read(client, alice, room["id"], message_id), "json", "message_id")
    assert get_room(client, alice, room["id"])["unread_count"] == 1


def test_a_read_marker_needs_a_message_id(client, alice):
    room = create_room(client, alice)
    assert_invalid(
        client.put(room_path(room["id"], "read"), headers=alice.headers, json={}), "json", "message_id"
    )


def join_by(client, how: str, owner, newcomer) -> int:
    """Make `newcomer` a member of a room with history, in one of the ways there are; its id."""
    kind = "public" if how == "join" else "private"
    room_id = create_room(client, owner, kind=kind)["id"]
    if how == "direct room again":
        room_id = direct(client, owner, newcomer.username).get_json()["id"]
        assert remove(client, newcomer, room_id, "me").status_code == 204
    for n in range(3):
        response = client.post(room_path(room_id, "messages"), headers=owner.headers, json={"body": f"m{n}"})
        assert response.status_code == 201, response.get_json()
    if how == "add":
        assert add_member(client, owner, room_id, newcomer.username).status_code == 201
    elif how == "join":
        assert client.post(room_path(room_id, "join"), headers=newcomer.headers).status_code == 200
    elif how == "direct room again":
        assert direct(client, newcomer, owner.username).status_code == 200
    else:
        approval = how == "join request"
        invite = client.post(
            room_path(room_id, "invites"), headers=owner.headers, json={"requires_approval": approval}
        ).get_json()
        accepted = client.post(f"/api/v1/invites/{invite['code']}/accept", headers=newcomer.headers)
        if approval:
            approve = room_path(room_id, "join-requests", accepted.get_json()["id"], "approve")
            assert client.post(approve, headers=owner.headers).status_code == 200
    return room_id


@pytest.mark.parametrize("how", ["add", "join", "invite", "join request", "direct room again"])
def test_a_new_members_read_marker_starts_at_the_rooms_newest_message(client, alice, bob, how):
    room_id = join_by(client, how, alice, bob)
    newest = get_room(client, alice, room_id)["last_message"]["id"]
    assert get_room(client, bob, room_id)["unread_count"] == 0
    me = client.get(room_path(room_id, "members", "me"), headers=bob.headers).get_json()
    assert me["last_read_message_id"] == newest
    history = client.get(room_path(room_id, "messages"), headers=bob.headers).get_json()
    assert [message["body"] for message in history] == ["m0", "m1", "m2"]
    client.post(room_path(room_id, "messages"), headers=alice.headers, json={"body": "news"})
    assert get_room(client, bob, room_id)["unread_count"] == 1


def test_a_new_users_read_marker_in_general_starts_at_its_newest_message(
    app, client, general_id, alice, make_user
):
    newest = post(app, general_id, alice.id, "before you came")
    bob = make_user("bob")
    assert get_room(client, bob, general_id)["unread_count"] == 0
    me = client.get(room_path(general_id, "members", "me"), headers=bob.headers).get_json()
    assert me["last_read_message_id"] == newest


# --- the general room --------------------------------------------------------------------------


def test_every_new_user_is_a_member_of_the_public_general_room(client, general_id, alice, bob):
    for user in (alice, bob):
        body = get_room(client, user, general_id)
        assert_room(
            body,
            name="general",
            kind="public",
            owner_id=None,
            role="member",
            member_count=2,
            message_ttl_seconds=3600,
        )
    assert members_of(client, alice, general_id) == {alice.id: "member", bob.id: "member"}
    assert general_id in room_ids(my_rooms(client, bob, scope="public"))


# --- account deletion --------------------------------------------------------------------------


def delete_account(client, user):
    response = client.delete("/api/v1/users/me", headers=user.headers, json={"current_password": PASSWORD})
    assert response.status_code == 204, response.get_json()


@pytest.mark.parametrize(
    ("admins", "heir"),
    [(["carol", "dave"], "carol"), (["dave"], "dave"), ([], "bob")],
    ids=["the earlier of two admins", "a later admin before an earlier member", "no admin"],
)
def test_a_deleted_owners_room_goes_to_the_longest_standing_admin_else_member(
    app, client, alice, bob, carol, dave, admins, heir
):
    users = {"bob": bob, "carol": carol, "dave": dave}
    room = create_room(client, alice)
    for name in ("bob", "carol", "dave"):  # one request each: distinct joining times
        add_member(client, alice, room["id"], name)
    for name in reversed(admins):
        set_role(client, alice, room["id"], users[name].id, "admin")
    mark = last_event_id(app)
    delete_account(client, alice)
    heir_user = users[heir]
    body = get_room(client, heir_user, room["id"])
    assert (body["owner_id"], body["role"], body["member_count"]) == (heir_user.id, "owner", 3)
    roles = members_of(client, heir_user, room["id"])
    assert alice.id not in roles
    assert [user_id for user_id, role in roles.items() if role == "owner"] == [heir_user.id]
    recorded = [(t, u, d) for t, r, u, d in events_since(app, mark) if r == room["id"]]
    assert [(t, u) for t, u, _ in recorded] == [
        ("member.updated", heir_user.id),
        ("room.updated", None),
        ("member.removed", alice.id),
    ]
    assert (recorded[0][2]["role"], recorded[1][2]["owner_id"]) == ("owner", heir_user.id)


def test_a_deleted_owners_room_without_other_members_is_deleted(app, client, alice, bob):
    lonely = create_room(client, alice, name="lonely")
    post(app, lonely["id"], alice.id)
    shared = create_room(client, bob, name="shared", members=["alice"])
    mark = last_event_id(app)
    delete_account(client, alice)
    assert ("room.deleted", lonely["id"]) in [(t, r) for t, r, _, _ in events_since(app, mark)]
    assert count_rows(app, RoomRow, id=lonely["id"]) == 0
    assert count_rows(app, Message, room_id=lonely["id"]) == 0
    assert members_of(client, bob, shared["id"]) == {bob.id: "owner"}


# --- permissions matrix ------------------------------------------------------------------------

ROLES = ("owner", "admin", "member", "outsider", "anonymous")


@dataclass
class Cast:
    """A fresh room: alice owns it, bob is an admin, carol and dave plain members, erin outside."""

    room_id: int
    message_id: int
    users: dict[str, Any]

    def headers(self, role: str) -> dict[str, str]:
        return {} if role == "anonymous" else self.users[role].headers


def make_cast(app, client, make_user, kind: str) -> Cast:
    users = {
        "owner": make_user("alice"),
        "admin": make_user("bob"),
        "member": make_user("carol"),
        "target": make_user("dave"),
        "outsider": make_user("erin"),
    }
    room = create_room(client, users["owner"], kind=kind, members=["bob", "carol", "dave"])
    assert set_role(client, users["owner"], room["id"], users["admin"].id, "admin").status_code == 200
    return Cast(room["id"], post(app, room["id"], users["target"].id), users)


# (method, path under the room, body): {target} is the plain member dave, {message} a message in the room.
ACTIONS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "get room": ("GET", "", None),
    "patch room": ("PATCH", "", {"name": "renamed"}),
    "delete room": ("DELETE", "", None),
    "join": ("POST", "/join", None),
    "list members": ("GET", "/members", None),
    "add member": ("POST", "/members", {"username": "erin"}),
    "change role": ("PATCH", "/members/{target}", {"role": "admin"}),
    "kick member": ("DELETE", "/members/{target}", None),
    "leave": ("DELETE", "/members/me", None),
    "mark read": ("PUT", "/read", {"message_id": "{message}"}),
    "create invite": ("POST", "/invites", {}),
    "list invites": ("GET", "/invites", None),
    "list join requests": ("GET", "/join-requests", None),
}
# Expected status for (owner, admin, member, outsider, anonymous).
PRIVATE_MATRIX = {
    "get room": (200, 200, 200, 404, 401),
    "patch room": (200, 200, 403, 404, 401),
    "delete room": (204, 403, 403, 404, 401),
    "join": (403, 403, 403, 404, 401),
    "list members": (200, 200, 200, 404, 401),
    "add member": (201, 201, 201, 404, 401),
    "change role": (200, 403, 403, 404, 401),
    "kick member": (204, 204, 403, 404, 401),
    "leave": (409, 204, 204, 404, 401),
    "mark read": (200, 200, 200, 404, 401),
    "create invite": (201, 201, 403, 404, 401),
    "list invites": (200, 200, 403, 404, 401),
    "list join requests": (200, 200, 403, 404, 401),
}
PUBLIC_MATRIX = {
    "get room": (200, 200, 200, 200, 401),
    "patch room": (200, 200, 403, 403, 401),
    "delete room": (204, 403, 403, 403, 401),
    "join": (200, 200, 200, 200, 401),
    "list members": (200, 200, 200, 403, 401),
    "add member": (201, 201, 201, 403, 401),
    "change role": (200, 403, 403, 403, 401),
    "kick member": (204, 204, 403, 403, 401),
    "leave": (409, 204, 204, 403, 401),
    "mark read": (200, 200, 200, 403, 401),
    "create invite": (201, 201, 403, 403, 401),
    "list invites": (200, 200, 403, 403, 401),
    "list join requests": (200, 200, 403, 403, 401),
}
MATRIX = [
    pytest.param(kind, action, role, status, id=f"{kind}-{action}-{role}")
    for kind, matrix in (("private", PRIVATE_MATRIX), ("public", PUBLIC_MATRIX))
    for action, statuses in matrix.items()
    for role, status in zip(ROLES, statuses, strict=True)
]


def room_snapshot(client, cast: Cast) -> tuple[dict[str, Any], dict[int, str]]:
    owner = cast.users["owner"]
    return get_room(client, owner, cast.room_id), members_of(client, owner, cast.room_id)


@pytest.mark.parametrize(("kind", "action", "role", "status"), MATRIX)
def test_permissions_matrix(app, client, make_user, kind, action, role, status):
    cast = make_cast(app, client, make_user, kind)
    method, suffix, body = ACTIONS[action]
    path = room_path(cast.room_id) + suffix.format(target=cast.users["target"].id)
    if body is not None and body.get("message_id") == "{message}":
        body = {"message_id": cast.message_id}
    before = room_snapshot(client, cast)
    response = client.open(path, method=method, headers=cast.headers(role), json=body)
    if status >= 400:
        assert_error(response, status)
        assert room_snapshot(client, cast) == before
    else:
        assert response.status_code == status, response.get_json()
        if status == 204:
            assert response.data == b""
        else:
            assert response.is_json


# --- authentication and scopes on every endpoint -----------------------------------------------

# (method, path with {room}, body, scope it needs)
ENDPOINTS = [
    ("GET", ROOMS, None, "rooms:read"),
    ("POST", ROOMS, {"name": "lounge"}, "rooms:write"),
    ("POST", DIRECT, {"username": "bob"}, "rooms:write"),
    ("GET", "{room}", None, "rooms:read"),
    ("PATCH", "{room}", {"name": "den"}, "rooms:write"),
    ("DELETE", "{room}", None, "rooms:write"),
    ("POST", "{room}/join", None, "rooms:write"),
    ("GET", "{room}/members", None, "rooms:read"),
    ("POST", "{room}/members", {"username": "carol"}, "rooms:write"),
    ("PATCH", "{room}/members/{bob}", {"role": "admin"}, "rooms:write"),
    ("DELETE", "{room}/members/{bob}", None, "rooms:write"),
    ("DELETE", "{room}/members/me", None, "rooms:write"),
    ("PUT", "{room}/read", {"message_id": "{message}"}, "rooms:write"),
]
ENDPOINT_IDS = [f"{method} {path}" for method, path, _, _ in ENDPOINTS]
OTHER_SCOPE = {"rooms:read": "rooms:write", "rooms:write": "rooms:read"}
SUCCESS = {"GET": 200, "POST": 201, "PATCH": 200, "DELETE": 204, "PUT": 200}


@pytest.fixture
def setting(app, client, alice, bob, carol) -> Callable[[str, Any], tuple[str, Any]]:
    """A public room alice owns with bob in it and a message; resolves an ENDPOINTS row."""
    room = create_room(client, alice, kind="public", members=["bob"])
    message_id = post(app, room["id"], bob.id)

    def resolve(path: str, body: Any) -> tuple[str, Any]:
        if path.startswith("{room}"):
            path = room_path(room["id"]) + path.removeprefix("{room}").format(bob=bob.id)
        if body is not None and body.get("message_id") == "{message}":
            body = {"message_id": message_id}
        return path, body

    return resolve


@pytest.mark.parametrize(("method", "path", "body", "scope"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_no_token_is_a_401_with_a_bearer_challenge(client, setting, method, path, body, scope):
    path, body = setting(path, body)
    response = client.open(path, method=method, json=body)
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "body", "scope"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_a_garbage_token_is_a_401_invalid_token(client, setting, method, path, body, scope):
    path, body = setting(path, body)
    response = client.open(path, method=method, json=body, headers=bearer("not-a-token"))
    assert_error(response, 401)
    assert "invalid_token" in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(("method", "path", "body", "scope"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_a_token_without_the_needed_rooms_scope_is_a_403_insufficient_scope(
    client, alice, setting, method, path, body, scope
):
    path, body = setting(path, body)
    for wrong in (OTHER_SCOPE[scope], "users:read users:write messages:read messages:write"):
        response = client.open(path, method=method, json=body, headers=bearer(alice.token_with(wrong)))
        assert_error(response, 403)
        assert "insufficient_scope" in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(("method", "path", "body", "scope"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_the_needed_rooms_scope_alone_is_enough(client, alice, bob, setting, method, path, body, scope):
    path, body = setting(path, body)
    caller = bob if path.endswith("/members/me") else alice
    response = client.open(path, method=method, json=body, headers=bearer(caller.token_with(scope)))
    expected = 200 if path.endswith("/join") else SUCCESS[method]  # alice is in already: a no-op
    assert response.status_code == expected, response.get_json()


# --- events (outbox) ---------------------------------------------------------------------------


def test_creating_a_room_records_room_created_and_member_added_for_each_member(app, client, alice, bob):
    mark = last_event_id(app)
    room = create_room(client, alice, members=["bob"])
    recorded = events_since(app, mark)
    # The members first: the stream of every member then carries room.created too.
    assert [(type_, room_id, user_id) for type_, room_id, user_id, _ in recorded] == [
        ("member.added", room["id"], alice.id),
        ("member.added", room["id"], bob.id),
        ("room.created", room["id"], None),
    ]
    owner_added, bob_added, created = (data for *_, data in recorded)
    assert (created["id"], created["name"], created["kind"], created["owner_id"]) == (
        room["id"],
        "lounge",
        "private",
        alice.id,
    )
    assert (owner_added["room_id"], owner_added["user"]["id"], owner_added["role"]) == (
        room["id"],
        alice.id,
        "owner",
    )
    assert (bob_added["room_id"], bob_added["user"]["id"], bob_added["role"]) == (
        room["id"],
        bob.id,
        "member",
    )


def test_a_direct_room_records_room_created_and_two_member_added_once(app, client, alice, bob):
    mark = last_event_id(app)
    room_id = direct(client, alice, "bob").get_json()["id"]
    direct(client, bob, "alice")
    assert [(t, r, u) for t, r, u, _ in events_since(app, mark)] == [
        ("member.added", room_id, alice.id),
        ("member.added", room_id, bob.id),
        ("room.created", room_id, None),
    ]


@pytest.mark.parametrize("how", ["add", "join"])
def test_a_new_member_records_member_added(app, client, alice, bob, how):
    room = create_room(client, alice, kind="public")
    mark = last_event_id(app)
    if how == "add":
        add_member(client, alice, room["id"], "bob")
    else:
        client.post(room_path(room["id"], "join"), headers=bob.headers)
    [(type_, room_id, user_id, data)] = events_since(app, mark)
    assert (type_, room_id, user_id, data["room_id"], data["user"]["id"], data["role"]) == (
        "member.added",
        room["id"],
        bob.id,
        room["id"],
        bob.id,
        "member",
    )


@pytest.mark.parametrize("how", ["kick", "leave"])
def test_a_departing_member_records_member_removed(app, client, alice, bob, how):
    room = create_room(client, alice, members=["bob"])
    mark = last_event_id(app)
    if how == "kick":
        remove(client, alice, room["id"], bob.id)
    else:
        remove(client, bob, room["id"], "me")
    [(type_, room_id, user_id, data)] = events_since(app, mark)
    assert (type_, room_id, user_id, data["room_id"], data["user"]["id"]) == (
        "member.removed",
        room["id"],
        bob.id,
        room["id"],
        bob.id,
    )


def test_a_role_change_records_member_updated(app, client, alice, bob):
    room = create_room(client, alice, members=["bob"])
    mark = last_event_id(app)
    set_role(client, alice, room["id"], bob.id, "admin")
    [(type_, room_id, user_id, data)] = events_since(app, mark)
    assert (type_, room_id, user_id, data["room_id"], data["user"]["id"], data["role"]) == (
        "member.updated",
        room["id"],
        bob.id,
        room["id"],
        bob.id,
        "admin",
    )


def test_an_ownership_transfer_records_both_members_and_the_room(app, client, alice, bob):
    room = create_room(client, alice, members=["bob"])
    mark = last_event_id(app)
    set_role(client, alice, room["id"], bob.id, "owner")
    recorded = events_since(app, mark)
    members = {
        (d["user"]["id"], d["role"]) for t, r, u, d in recorded if t == "member.updated" and r == room["id"]
    }
    assert members == {(alice.id, "admin"), (bob.id, "owner")}
    [updated] = [d for t, r, _, d in recorded if t == "room.updated" and r == room["id"]]
    assert (updated["id"], updated["owner_id"]) == (room["id"], bob.id)
    assert len(recorded) == 3


def test_changing_a_room_records_room_updated_with_the_new_values(app, client, alice):
    room = create_room(client, alice)
    mark = last_event_id(app)
    client.patch(
        room_path(room["id"]), headers=alice.headers, json={"name": "den", "message_ttl_seconds": 60}
    )
    [(type_, room_id, user_id, data)] = events_since(app, mark)
    assert (type_, room_id, user_id) == ("room.updated", room["id"], None)
    assert (data["id"], data["name"], data["message_ttl_seconds"]) == (room["id"], "den", 60)


def test_deleting_a_room_records_room_deleted(app, client, alice):
    room = create_room(client, alice)
    mark = last_event_id(app)
    client.delete(room_path(room["id"]), headers=alice.headers)
    [(type_, room_id, user_id, data)] = events_since(app, mark)
    assert (type_, room_id, user_id, data["id"]) == ("room.deleted", room["id"], None, room["id"])


def test_moving_the_read_marker_records_read_updated_for_the_reader_alone(app, client, alice, bob):
    room = create_room(client, alice, members=["bob"])
    message_id = post(app, room["id"], bob.id)
    mark = last_event_id(app)
    mark_read(client, alice, room["id"], message_id)
    [(type_, room_id, user_id, data)] = events_since(app, mark)
    assert (type_, user_id, data["room_id"], data["last_read_message_id"]) == (
        "read.updated",
        alice.id,
        room["id"],
        message_id,
    )
    assert room_id is None  # private to the reader: other members do not hear it


def test_refused_changes_record_no_event(app, client, alice, bob):
    room = create_room(client, alice, members=["bob"])
    mark = last_event_id(app)
    client.patch(room_path(room["id"]), headers=bob.headers, json={"name": "mine"})
    client.delete(room_path(room["id"]), headers=bob.headers)
    add_member(client, bob, room["id"], "alice")
    remove(client, alice, room["id"], "me")
    assert events_since(app, mark) == []


# --- query count -------------------------------------------------------------------------------


def statements_to_list_rooms(app, client, user) -> tuple[int, list[dict[str, Any]]]:
    """(SQL statements run, rooms listed) for one GET /rooms?page_size=50."""
    with counted_statements(app) as statements:
        response = client.get(ROOMS, headers=user.headers, query_string={"page_size": 50})
    assert response.status_code == 200
    return len(statements), response.get_json()


def test_listing_rooms_takes_the_same_few_statements_for_5_or_50_rooms(app, client, alice, bob):
    def add_rooms(count: int) -> None:
        for _ in range(count):
            room = create_room(client, alice, name="r", members=["bob"])
            post(app, room["id"], bob.id)

    add_rooms(5)
    few, listed_few = statements_to_list_rooms(app, client, alice)
    add_rooms(44)
    many, listed_many = statements_to_list_rooms(app, client, alice)
    assert (len(listed_few), len(listed_many)) == (6, 50)  # with general
    assert all(room["last_message"]["author"]["id"] == bob.id for room in listed_many[:-1])
    assert all(room["unread_count"] == 1 for room in listed_many[:-1])
    assert many == few
    # The token with its user, and the page: a page with room for one more row is the last one, so
    # its rows are the total; more rooms than fit on the page also take a count.
    assert few == 2, few
    add_rooms(1)
    assert statements_to_list_rooms(app, client, alice)[0] == 3
