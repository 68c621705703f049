"""Invite links and join requests over HTTP (docs/api.md, Rooms: invites, accept, join requests).

Cast of every scene: alice owns a private room, carol is its admin, dave a plain member,
bob an outsider; erin and frank are strangers who arrive by invite link.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.extensions import db
from app.extensions.security import hash_secret
from app.modules.events.models import Event
from app.modules.invites.models import Invite, JoinRequest
from tests.assertions import assert_error, assert_invalid
from tests.conftest import User, bearer
from tests.outbox import events_since, last_event_id
from tests.rooms import ROOM_FIELDS, ROOMS, create_room, room_path

MY_JOIN_REQUESTS = "/api/v1/join-requests"
# An invite as listed and shown; the answer that creates it adds its code and link, once.
INVITE_FIELDS = {
    "id",
    "code_prefix",
    "room_id",
    "expires_at",
    "max_uses",
    "uses",
    "requires_approval",
    "created_at",
}
NEW_INVITE_FIELDS = INVITE_FIELDS | {"code", "url"}
JOIN_REQUEST_FIELDS = {"id", "room_id", "user", "status", "created_at", "resolved_at"}
THIRTY_DAYS = 30 * 24 * 3600


# --- helpers -----------------------------------------------------------------------------------


def moment(value: str) -> datetime:
    """An API timestamp: ISO 8601 in UTC with an explicit offset."""
    assert value.endswith("+00:00"), value
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0)
    return parsed


def assert_recent(value: str) -> None:
    assert abs(datetime.now(UTC) - moment(value)) < timedelta(minutes=5)


def pagination(response) -> dict[str, int]:
    return json.loads(response.headers["X-Pagination"])


def add_member(client, by: User, room_id: int, user: User, role: str = "member") -> None:
    response = client.post(
        room_path(room_id, "members"), headers=by.headers, json={"username": user.username}
    )
    assert response.status_code == 201, response.get_json()
    if role != "member":
        response = client.patch(
            room_path(room_id, "members", user.id), headers=by.headers, json={"role": role}
        )
        assert response.status_code == 200, response.get_json()


def post_invite(client, user: User, room_id: int, **fields: Any):
    return client.post(room_path(room_id, "invites"), headers=user.headers, json=fields)


def create_invite(client, user: User, room_id: int, **fields: Any) -> dict[str, Any]:
    response = post_invite(client, user, room_id, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def listed(created: dict[str, Any]) -> dict[str, Any]:
    """A new invite as the list and GET show it: without its code and link."""
    return {key: value for key, value in created.items() if key not in ("code", "url")}


def show_invite(client, user: User, room_id: int, code: str) -> dict[str, Any]:
    response = client.get(room_path(room_id, "invites", code), headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def list_invites(client, user: User, room_id: int, **params: Any):
    response = client.get(room_path(room_id, "invites"), headers=user.headers, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response


def accept(client, user: User, code: str):
    return client.post(f"/api/v1/invites/{code}/accept", headers=user.headers)


def file_request(client, user: User, code: str) -> dict[str, Any]:
    response = accept(client, user, code)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def room_requests(client, manager: User, room_id: int, **params: Any):
    response = client.get(room_path(room_id, "join-requests"), headers=manager.headers, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response


def resolve(client, manager: User, room_id: int, request_id: int, decision: str):
    return client.post(room_path(room_id, "join-requests", request_id, decision), headers=manager.headers)


def my_requests(client, user: User) -> list[dict[str, Any]]:
    response = client.get(MY_JOIN_REQUESTS, headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def member_names(client, viewer: User, room_id: int) -> list[str]:
    response = client.get(room_path(room_id, "members"), headers=viewer.headers)
    assert response.status_code == 200, response.get_json()
    return sorted(member["user"]["username"] for member in response.get_json())


def my_room_ids(client, user: User) -> list[int]:
    response = client.get(ROOMS, headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return [room["id"] for room in response.get_json()]


def uses_of(client, manager: User, room_id: int, code: str) -> int:
    return show_invite(client, manager, room_id, code)["uses"]


def edit_invite(app, code: str, **values: Any) -> None:
    """Time travel only: move an invite's timestamps by hand."""
    with app.app_context():
        invite = db.session.scalar(select(Invite).where(Invite.code_hash == hash_secret(code)))
        for name, value in values.items():
            setattr(invite, name, value)
        db.session.commit()


def events(app, type_: str) -> list[Event]:
    with app.app_context():
        rows = list(db.session.scalars(select(Event).where(Event.type == type_).order_by(Event.id)))
        db.session.expunge_all()
    return rows


def events_about(app, type_: str, room_id: int, user_id: int) -> list[Event]:
    return [event for event in events(app, type_) if event.room_id == room_id and event.user_id == user_id]


@dataclass
class Cast:
    room: dict[str, Any]
    owner: User
    admin: User
    member: User
    outsider: User

    @property
    def room_id(self) -> int:
        return self.room["id"]

    def user(self, role: str) -> User:
        return getattr(self, role)


@pytest.fixture
def cast(client, make_user, alice, bob) -> Cast:
    carol, dave = make_user("carol"), make_user("dave")
    room = create_room(client, alice, "Plans")
    add_member(client, alice, room["id"], carol, role="admin")
    add_member(client, alice, room["id"], dave)
    return Cast(room, owner=alice, admin=carol, member=dave, outsider=bob)


@pytest.fixture
def erin(make_user) -> User:
    return make_user("erin", email="erin@example.com", display_name="Erin")


@pytest.fixture
def frank(make_user) -> User:
    return make_user("frank")


@pytest.fixture
def invite(client, cast) -> dict[str, Any]:
    """An invite of the cast's room that needs approval (the default)."""
    return create_invite(client, cast.owner, cast.room_id)


@pytest.fixture
def open_invite(client, cast) -> dict[str, Any]:
    """An invite of the cast's room that lets people straight in."""
    return create_invite(client, cast.owner, cast.room_id, requires_approval=False)


@pytest.fixture
def pending(client, invite, erin) -> dict[str, Any]:
    """erin's pending request to join the cast's room."""
    return file_request(client, erin, invite["code"])


# --- POST /rooms/{id}/invites ------------------------------------------------------------------


def test_creating_an_invite_answers_201_with_its_location_and_exact_shape(client, cast):
    response = post_invite(client, cast.owner, cast.room_id)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == NEW_INVITE_FIELDS
    assert isinstance(body["code"], str) and len(body["code"]) >= 12
    assert body["code_prefix"] == body["code"][:4]
    assert body["url"] == f"http://localhost/#/invites/{body['code']}"
    assert {key: body[key] for key in ("room_id", "expires_at", "max_uses", "uses", "requires_approval")} == {
        "room_id": cast.room_id,
        "expires_at": None,
        "max_uses": None,
        "uses": 0,
        "requires_approval": True,
    }
    assert_recent(body["created_at"])
    assert urlsplit(response.headers["Location"]).path == room_path(cast.room_id, "invites", body["id"])


def test_the_location_of_a_new_invite_serves_it(client, cast):
    response = post_invite(client, cast.owner, cast.room_id, max_uses=3)
    shown = client.get(urlsplit(response.headers["Location"]).path, headers=cast.owner.headers)
    assert shown.status_code == 200
    assert shown.get_json() == listed(response.get_json())


def test_an_invite_keeps_its_expiry_use_limit_and_approval_setting(client, cast):
    body = create_invite(
        client, cast.owner, cast.room_id, expires_in=3600, max_uses=5, requires_approval=False
    )
    assert (body["max_uses"], body["uses"], body["requires_approval"]) == (5, 0, False)
    lifetime = moment(body["expires_at"]) - moment(body["created_at"])
    assert abs(lifetime - timedelta(hours=1)) < timedelta(seconds=5)


def test_the_invite_url_is_the_browser_clients_accept_page_on_the_requests_host(client, cast):
    response = client.post(
        room_path(cast.room_id, "invites"),
        headers=cast.owner.headers,
        json={},
        base_url="https://chat.example.org",
    )
    code = response.get_json()["code"]
    assert response.get_json()["url"] == f"https://chat.example.org/#/invites/{code}"


def test_an_admin_may_create_an_invite(client, cast):
    assert create_invite(client, cast.admin, cast.room_id)["room_id"] == cast.room_id


def test_every_invite_gets_its_own_code(client, cast):
    codes = {create_invite(client, cast.owner, cast.room_id)["code"] for _ in range(5)}
    assert len(codes) == 5


@pytest.mark.parametrize("seconds", [60, THIRTY_DAYS])
def test_expires_in_accepts_one_minute_to_thirty_days(client, cast, seconds):
    body = create_invite(client, cast.owner, cast.room_id, expires_in=seconds)
    lifetime = moment(body["expires_at"]) - moment(body["created_at"])
    assert abs(lifetime - timedelta(seconds=seconds)) < timedelta(seconds=5)


@pytest.mark.parametrize("max_uses", [1, 10_000])
def test_max_uses_accepts_one_to_ten_thousand(client, cast, max_uses):
    assert create_invite(client, cast.owner, cast.room_id, max_uses=max_uses)["max_uses"] == max_uses


def test_a_null_expiry_and_use_limit_mean_never_and_unlimited(client, cast):
    body = create_invite(client, cast.owner, cast.room_id, expires_in=None, max_uses=None)
    assert (body["expires_at"], body["max_uses"]) == (None, None)


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"expires_in": 59}, "expires_in"),
        ({"expires_in": THIRTY_DAYS + 1}, "expires_in"),
        ({"expires_in": "soon"}, "expires_in"),
        ({"max_uses": 0}, "max_uses"),
        ({"max_uses": 10_001}, "max_uses"),
        ({"max_uses": "many"}, "max_uses"),
        ({"requires_approval": "maybe"}, "requires_approval"),
        ({"code": "my-own-code"}, "code"),
        ({"uses": 0}, "uses"),
    ],
)
def test_an_invalid_invite_is_a_422_naming_the_field_and_creates_nothing(client, cast, fields, bad_field):
    assert_invalid(post_invite(client, cast.owner, cast.room_id, **fields), "json", bad_field)
    assert list_invites(client, cast.owner, cast.room_id).get_json() == []


def test_an_invite_body_that_is_not_json_is_a_400(client, cast):
    response = client.post(
        room_path(cast.room_id, "invites"),
        headers=cast.owner.headers,
        data="max_uses=3",
        content_type="text/plain",
    )
    assert_error(response, 400)


def test_a_direct_room_cannot_have_invites(client, alice, bob):
    response = client.post(f"{ROOMS}/direct", headers=alice.headers, json={"username": "bob"})
    direct = response.get_json()
    for user in (alice, bob):
        assert_error(post_invite(client, user, direct["id"]), 403)


def test_an_unknown_room_is_a_404_for_invites(client, alice):
    assert_error(post_invite(client, alice, 999_999), 404)


def test_an_outsider_of_a_public_room_may_see_it_but_not_create_invites(client, alice, bob):
    room = create_room(client, alice, kind="public")
    assert_error(post_invite(client, bob, room["id"]), 403)


# --- GET /rooms/{id}/invites, GET and DELETE /rooms/{id}/invites/{code} ------------------------


def test_the_invite_list_shows_the_rooms_invites_newest_first_with_pagination(client, cast):
    first = create_invite(client, cast.owner, cast.room_id, max_uses=1)
    second = create_invite(client, cast.admin, cast.room_id, max_uses=2)
    other_room = create_room(client, cast.owner, name="Elsewhere")
    create_invite(client, cast.owner, other_room["id"])
    response = list_invites(client, cast.owner, cast.room_id)
    assert response.get_json() == [listed(second), listed(first)]
    assert pagination(response) == {"total": 2, "total_pages": 1, "page": 1, "page_size": 20}


def test_the_invite_list_is_paginated(client, cast):
    ids = {create_invite(client, cast.owner, cast.room_id)["id"] for _ in range(3)}
    pages = [list_invites(client, cast.owner, cast.room_id, page=page, page_size=2) for page in (1, 2)]
    assert pagination(pages[0]) == {"total": 3, "total_pages": 2, "page": 1, "page_size": 2}
    assert [len(page.get_json()) for page in pages] == [2, 1]
    assert {invite["id"] for page in pages for invite in page.get_json()} == ids


def test_an_invite_shows_how_often_it_was_used(client, cast, open_invite, erin):
    accept(client, erin, open_invite["code"])
    assert show_invite(client, cast.admin, cast.room_id, open_invite["code"])["uses"] == 1


def test_an_unknown_invite_code_is_a_404(client, cast):
    response = client.get(room_path(cast.room_id, "invites", "no-such-code"), headers=cast.owner.headers)
    assert_error(response, 404)


def test_an_invite_of_another_room_is_a_404_under_this_room(client, cast):
    other_room = create_room(client, cast.owner, name="Elsewhere")
    elsewhere = create_invite(client, cast.owner, other_room["id"])
    for method in ("GET", "DELETE"):
        path = room_path(cast.room_id, "invites", elsewhere["code"])
        assert_error(client.open(path, method=method, headers=cast.owner.headers), 404)
    assert show_invite(client, cast.owner, other_room["id"], elsewhere["code"]) == listed(elsewhere)


def test_deleting_an_invite_answers_204_with_no_body_and_withdraws_it(client, cast, invite, erin):
    path = room_path(cast.room_id, "invites", invite["code"])
    response = client.delete(path, headers=cast.admin.headers)
    assert response.status_code == 204
    assert response.data == b""
    assert_error(client.get(path, headers=cast.owner.headers), 404)
    assert list_invites(client, cast.owner, cast.room_id).get_json() == []
    assert_error(accept(client, erin, invite["code"]), 404)


def test_deleting_an_invite_twice_is_a_404(client, cast, invite):
    path = room_path(cast.room_id, "invites", invite["code"])
    assert client.delete(path, headers=cast.owner.headers).status_code == 204
    assert_error(client.delete(path, headers=cast.owner.headers), 404)


def test_deleting_an_invite_leaves_its_pending_requests_to_be_decided(client, cast, invite, pending, erin):
    client.delete(room_path(cast.room_id, "invites", invite["code"]), headers=cast.owner.headers)
    response = resolve(client, cast.owner, cast.room_id, pending["id"], "approve")
    assert response.status_code == 200, response.get_json()
    assert "erin" in member_names(client, cast.owner, cast.room_id)


def test_an_invite_is_addressed_by_its_id_as_well_as_by_its_code(client, cast, invite, erin):
    by_id = room_path(cast.room_id, "invites", invite["id"])
    assert show_invite(client, cast.admin, cast.room_id, invite["id"]) == listed(invite)
    assert show_invite(client, cast.admin, cast.room_id, invite["code"]) == listed(invite)
    assert client.delete(by_id, headers=cast.admin.headers).status_code == 204
    assert_error(accept(client, erin, invite["code"]), 404)


def test_the_code_is_shown_only_to_its_creator_and_never_stored(app, client, cast, erin):
    invite = create_invite(client, cast.admin, cast.room_id)
    file_request(client, erin, invite["code"])
    shown = [
        list_invites(client, cast.owner, cast.room_id).get_json(),
        show_invite(client, cast.owner, cast.room_id, invite["id"]),
        show_invite(client, cast.owner, cast.room_id, invite["code"]),
    ]
    assert invite["code"] not in json.dumps(shown)
    assert "code" not in shown[1] and "url" not in shown[1]
    with app.app_context():
        stored = [
            [tuple(row) for row in db.session.execute(select(model))]
            for model in (Invite.__table__, JoinRequest.__table__, Event.__table__)
        ]
    assert invite["code"] not in repr(stored)


def test_creating_and_withdrawing_an_invite_reach_the_managers_without_its_code(app, client, cast):
    mark = last_event_id(app)
    invite = create_invite(client, cast.admin, cast.room_id, max_uses=3)
    client.delete(room_path(cast.room_id, "invites", invite["id"]), headers=cast.owner.headers)
    recorded = events_since(app, mark, fields=("type", "room_id", "user_id", "audience", "data"))
    assert recorded == [
        ("invite.created", cast.room_id, None, "managers", listed(invite)),
        ("invite.deleted", cast.room_id, None, "managers", listed(invite)),
    ]


# --- POST /invites/{code}/accept ---------------------------------------------------------------


def test_accepting_an_open_invite_answers_200_with_the_room_and_makes_a_member(
    client, cast, open_invite, erin
):
    response = accept(client, erin, open_invite["code"])
    assert response.status_code == 200, response.get_json()
    room = response.get_json()
    assert set(room) >= ROOM_FIELDS
    assert {key: room[key] for key in ("id", "name", "kind", "owner_id", "member_count")} == {
        "id": cast.room_id,
        "name": "Plans",
        "kind": "private",
        "owner_id": cast.owner.id,
        "member_count": 4,
    }
    assert cast.room_id in my_room_ids(client, erin)
    assert client.get(room_path(cast.room_id), headers=erin.headers).status_code == 200
    assert member_names(client, erin, cast.room_id) == ["alice", "carol", "dave", "erin"]
    assert uses_of(client, cast.owner, cast.room_id, open_invite["code"]) == 1


def test_joining_through_an_open_invite_records_member_added(app, client, cast, open_invite, erin):
    accept(client, erin, open_invite["code"])
    assert len(events_about(app, "member.added", cast.room_id, erin.id)) == 1
    assert events(app, "join_request.created") == []


def test_an_open_invite_of_a_public_room_lets_people_in_too(client, alice, erin):
    room = create_room(client, alice, kind="public", name="Lobby")
    code = create_invite(client, alice, room["id"], requires_approval=False)["code"]
    response = accept(client, erin, code)
    assert response.status_code == 200, response.get_json()
    assert room["id"] in my_room_ids(client, erin)


def test_accepting_an_invite_that_needs_approval_answers_202_with_a_pending_request(
    client, cast, invite, erin
):
    response = accept(client, erin, invite["code"])
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert set(body) == JOIN_REQUEST_FIELDS
    assert isinstance(body["id"], int)
    assert (body["room_id"], body["status"], body["resolved_at"]) == (cast.room_id, "pending", None)
    assert {key: body["user"][key] for key in ("id", "username", "display_name")} == {
        "id": erin.id,
        "username": "erin",
        "display_name": "Erin",
    }
    assert_recent(body["created_at"])


def test_invites_need_approval_unless_told_otherwise(client, cast, erin):
    code = create_invite(client, cast.owner, cast.room_id)["code"]
    assert accept(client, erin, code).status_code == 202


def test_a_pending_requester_is_not_a_member_yet(client, cast, pending, erin):
    assert_error(client.get(room_path(cast.room_id), headers=erin.headers), 404)
    assert cast.room_id not in my_room_ids(client, erin)
    assert "erin" not in member_names(client, cast.owner, cast.room_id)


def test_filing_a_request_counts_one_use_and_records_join_request_created(app, client, cast, invite, erin):
    body = file_request(client, erin, invite["code"])
    assert uses_of(client, cast.owner, cast.room_id, invite["code"]) == 1
    created = events_about(app, "join_request.created", cast.room_id, erin.id)
    assert len(created) == 1
    assert (created[0].data["id"], created[0].data["status"]) == (body["id"], "pending")
    assert events_about(app, "member.added", cast.room_id, erin.id) == []


def test_accepting_again_while_pending_returns_the_same_request_without_counting_a_use(
    app, client, cast, invite, pending, erin
):
    again = accept(client, erin, invite["code"])
    assert again.status_code == 202, again.get_json()
    assert again.get_json() == pending
    assert uses_of(client, cast.owner, cast.room_id, invite["code"]) == 1
    assert len(room_requests(client, cast.owner, cast.room_id).get_json()) == 1
    assert len(events(app, "join_request.created")) == 1


def test_accepting_again_while_pending_returns_the_request_even_when_it_took_the_last_use(client, cast, erin):
    code = create_invite(client, cast.owner, cast.room_id, max_uses=1)["code"]
    first = file_request(client, erin, code)
    again = accept(client, erin, code)
    assert again.status_code == 202, again.get_json()
    assert again.get_json()["id"] == first["id"]
    assert uses_of(client, cast.owner, cast.room_id, code) == 1


def test_an_unknown_invite_code_is_a_404_on_accept(client, erin):
    body = assert_error(accept(client, erin, "no-such-code"), 404)
    assert "errors" not in body


def test_an_expired_invite_is_a_410_saying_so_and_nobody_joins(app, client, cast, erin):
    code = create_invite(client, cast.owner, cast.room_id, expires_in=60, requires_approval=False)["code"]
    edit_invite(app, code, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    body = assert_error(accept(client, erin, code), 410)
    assert "expired" in body["message"].lower()
    assert "erin" not in member_names(client, cast.owner, cast.room_id)
    assert uses_of(client, cast.owner, cast.room_id, code) == 0


def test_an_expired_invite_that_needs_approval_files_no_request(app, client, cast, erin):
    code = create_invite(client, cast.owner, cast.room_id, expires_in=60)["code"]
    edit_invite(app, code, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert_error(accept(client, erin, code), 410)
    assert room_requests(client, cast.owner, cast.room_id).get_json() == []
    assert my_requests(client, erin) == []


def test_an_invite_still_works_until_it_expires(app, client, cast, erin):
    code = create_invite(client, cast.owner, cast.room_id, expires_in=60, requires_approval=False)["code"]
    edit_invite(app, code, expires_at=datetime.now(UTC) + timedelta(seconds=30))
    assert accept(client, erin, code).status_code == 200


def test_a_used_up_invite_is_a_410_saying_so(client, cast, erin, frank, bob):
    code = create_invite(client, cast.owner, cast.room_id, max_uses=2, requires_approval=False)["code"]
    assert accept(client, erin, code).status_code == 200
    assert accept(client, frank, code).status_code == 200
    body = assert_error(accept(client, bob, code), 410)
    assert "used up" in body["message"].lower()
    assert "bob" not in member_names(client, cast.owner, cast.room_id)
    assert uses_of(client, cast.owner, cast.room_id, code) == 2


def test_filed_requests_use_up_an_invite_before_anyone_is_approved(client, cast, erin, frank):
    code = create_invite(client, cast.owner, cast.room_id, max_uses=1)["code"]
    file_request(client, erin, code)
    assert_error(accept(client, frank, code), 410)
    assert [
        request["user"]["username"] for request in room_requests(client, cast.owner, cast.room_id).get_json()
    ] == ["erin"]


@pytest.mark.parametrize("role", ["owner", "admin", "member"])
def test_a_member_accepting_an_invite_of_their_room_is_a_409(client, cast, role):
    for requires_approval in (False, True):
        code = create_invite(client, cast.owner, cast.room_id, requires_approval=requires_approval)["code"]
        assert_error(accept(client, cast.user(role), code), 409)
        assert uses_of(client, cast.owner, cast.room_id, code) == 0
    assert room_requests(client, cast.owner, cast.room_id).get_json() == []


def test_an_invite_of_a_deleted_room_is_a_404(client, cast, invite, erin):
    assert client.delete(room_path(cast.room_id), headers=cast.owner.headers).status_code == 204
    assert_error(accept(client, erin, invite["code"]), 404)


# --- GET /rooms/{id}/join-requests -------------------------------------------------------------


def test_managers_list_the_rooms_join_requests_oldest_first(client, cast, invite, erin, frank):
    first = file_request(client, erin, invite["code"])
    second = file_request(client, frank, invite["code"])
    for manager in (cast.owner, cast.admin):
        response = room_requests(client, manager, cast.room_id)
        body = response.get_json()
        assert [request["id"] for request in body] == [first["id"], second["id"]]
        assert all(set(request) == JOIN_REQUEST_FIELDS for request in body)
        assert pagination(response) == {"total": 2, "total_pages": 1, "page": 1, "page_size": 20}


def test_a_managers_view_of_a_request_hides_the_requesters_email(client, cast, pending):
    listed = room_requests(client, cast.owner, cast.room_id).get_json()
    assert listed[0]["user"]["username"] == "erin"
    assert "email" not in listed[0]["user"]


@pytest.mark.parametrize(
    ("status", "expected"), [("pending", ["frank"]), ("approved", ["erin"]), ("rejected", [])]
)
def test_the_join_request_list_filters_by_status(client, cast, invite, erin, frank, status, expected):
    resolve(client, cast.owner, cast.room_id, file_request(client, erin, invite["code"])["id"], "approve")
    file_request(client, frank, invite["code"])
    listed = room_requests(client, cast.owner, cast.room_id, status=status).get_json()
    assert [request["user"]["username"] for request in listed] == expected
    assert all(request["status"] == status for request in listed)


def test_the_join_request_list_is_paginated(client, cast, invite, erin, frank, bob):
    for user in (erin, frank, bob):
        file_request(client, user, invite["code"])
    response = room_requests(client, cast.owner, cast.room_id, status="pending", page=2, page_size=2)
    assert pagination(response) == {"total": 3, "total_pages": 2, "page": 2, "page_size": 2}
    assert [request["user"]["username"] for request in response.get_json()] == ["bob"]


def test_an_unknown_status_filter_is_a_422_naming_it(client, cast, pending):
    response = client.get(
        room_path(cast.room_id, "join-requests"), headers=cast.owner.headers, query_string={"status": "maybe"}
    )
    assert_invalid(response, "query", "status")


def test_the_join_request_list_shows_only_this_rooms_requests(client, cast, pending, frank):
    other_room = create_room(client, cast.owner, name="Elsewhere")
    file_request(client, frank, create_invite(client, cast.owner, other_room["id"])["code"])
    listed = room_requests(client, cast.owner, cast.room_id).get_json()
    assert [request["id"] for request in listed] == [pending["id"]]


# --- POST /rooms/{id}/join-requests/{request_id}/approve and /reject ---------------------------


@pytest.mark.parametrize("manager", ["owner", "admin"])
def test_approving_answers_200_with_the_approved_request_and_lets_the_requester_in(
    client, cast, pending, erin, manager
):
    response = resolve(client, cast.user(manager), cast.room_id, pending["id"], "approve")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == JOIN_REQUEST_FIELDS
    assert {key: body[key] for key in ("id", "room_id", "status", "created_at")} == {
        "id": pending["id"],
        "room_id": cast.room_id,
        "status": "approved",
        "created_at": pending["created_at"],
    }
    assert body["user"]["id"] == erin.id
    assert_recent(body["resolved_at"])
    assert moment(body["resolved_at"]) >= moment(body["created_at"])
    room = client.get(room_path(cast.room_id), headers=erin.headers)
    assert room.status_code == 200
    assert room.get_json()["role"] == "member"
    assert cast.room_id in my_room_ids(client, erin)
    assert "erin" in member_names(client, cast.owner, cast.room_id)


def test_approving_records_join_request_resolved_and_member_added(app, client, cast, pending, erin):
    resolve(client, cast.owner, cast.room_id, pending["id"], "approve")
    resolved = events_about(app, "join_request.resolved", cast.room_id, erin.id)
    assert len(resolved) == 1
    assert (resolved[0].data["id"], resolved[0].data["status"]) == (pending["id"], "approved")
    assert len(events_about(app, "member.added", cast.room_id, erin.id)) == 1


@pytest.mark.parametrize("manager", ["owner", "admin"])
def test_rejecting_answers_200_with_the_rejected_request_and_keeps_the_requester_out(
    client, cast, pending, erin, manager
):
    response = resolve(client, cast.user(manager), cast.room_id, pending["id"], "reject")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == JOIN_REQUEST_FIELDS
    assert (body["id"], body["status"]) == (pending["id"], "rejected")
    assert_recent(body["resolved_at"])
    assert_error(client.get(room_path(cast.room_id), headers=erin.headers), 404)
    assert "erin" not in member_names(client, cast.owner, cast.room_id)


def test_rejecting_records_join_request_resolved_but_no_member_added(app, client, cast, pending, erin):
    resolve(client, cast.owner, cast.room_id, pending["id"], "reject")
    resolved = events_about(app, "join_request.resolved", cast.room_id, erin.id)
    assert len(resolved) == 1
    assert resolved[0].data["status"] == "rejected"
    assert events_about(app, "member.added", cast.room_id, erin.id) == []


@pytest.mark.parametrize("first", ["approve", "reject"])
@pytest.mark.parametrize("second", ["approve", "reject"])
def test_resolving_a_request_twice_is_a_409_and_keeps_the_first_decision(
    client, cast, pending, first, second
):
    decided = resolve(client, cast.owner, cast.room_id, pending["id"], first).get_json()
    assert_error(resolve(client, cast.admin, cast.room_id, pending["id"], second), 409)
    listed = room_requests(client, cast.owner, cast.room_id).get_json()
    assert listed == [decided]
    assert ("erin" in member_names(client, cast.owner, cast.room_id)) == (first == "approve")


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_request_of_another_room_is_a_404_and_stays_pending(client, cast, frank, decision):
    other_room = create_room(client, cast.owner, name="Elsewhere")
    elsewhere = file_request(client, frank, create_invite(client, cast.owner, other_room["id"])["code"])
    assert_error(resolve(client, cast.owner, cast.room_id, elsewhere["id"], decision), 404)
    assert room_requests(client, cast.owner, other_room["id"]).get_json()[0]["status"] == "pending"
    assert "frank" not in member_names(client, cast.owner, other_room["id"])


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_an_unknown_request_id_is_a_404(client, cast, decision):
    assert_error(resolve(client, cast.owner, cast.room_id, 999_999, decision), 404)


def test_an_approved_requester_accepting_again_is_a_409(client, cast, invite, pending, erin):
    resolve(client, cast.owner, cast.room_id, pending["id"], "approve")
    assert_error(accept(client, erin, invite["code"]), 409)


# --- GET /join-requests: the requester's own view -----------------------------------------------


def test_my_join_requests_are_empty_at_first(client, erin):
    response = client.get(MY_JOIN_REQUESTS, headers=erin.headers)
    assert response.status_code == 200
    assert response.get_json() == []
    assert pagination(response)["total"] == 0


def test_my_join_requests_show_a_pending_request_as_filed(client, pending, erin):
    assert my_requests(client, erin) == [pending]


@pytest.mark.parametrize(("decision", "status"), [("approve", "approved"), ("reject", "rejected")])
def test_my_join_requests_show_the_outcome(client, cast, pending, erin, decision, status):
    decided = resolve(client, cast.owner, cast.room_id, pending["id"], decision).get_json()
    mine = my_requests(client, erin)
    assert [(request["id"], request["status"]) for request in mine] == [(pending["id"], status)]
    assert mine[0]["resolved_at"] == decided["resolved_at"]


def test_my_join_requests_list_only_my_own_across_rooms_newest_first(client, cast, invite, erin, frank):
    first = file_request(client, erin, invite["code"])
    file_request(client, frank, invite["code"])
    other_room = create_room(client, cast.admin, name="Elsewhere")
    second = file_request(client, erin, create_invite(client, cast.admin, other_room["id"])["code"])
    mine = my_requests(client, erin)
    assert [(request["id"], request["room_id"]) for request in mine] == [
        (second["id"], other_room["id"]),
        (first["id"], cast.room_id),
    ]
    assert all(request["user"]["id"] == erin.id for request in mine)


# --- events: what is recorded for the room's members -------------------------------------------


def test_join_request_events_do_not_carry_the_requesters_email(app, client, cast, pending, erin):
    """Room members hear these events; an email is only for the user themself and site admins."""
    resolve(client, cast.owner, cast.room_id, pending["id"], "approve")
    for type_ in ("join_request.created", "join_request.resolved", "member.added"):
        for event in events_about(app, type_, cast.room_id, erin.id):
            assert "email" not in event.data["user"], (type_, event.data)


def test_direct_join_events_do_not_carry_the_new_members_email(app, client, cast, open_invite, erin):
    accept(client, erin, open_invite["code"])
    (added,) = events_about(app, "member.added", cast.room_id, erin.id)
    assert "email" not in added.data["user"]


# --- authentication and scopes -----------------------------------------------------------------

# Every invite and join-request endpoint, with the scope it needs; {room}, {code}, {request} are
# filled from the scene below.
ENDPOINTS = [
    ("POST", "/api/v1/rooms/{room}/invites", "rooms:write"),
    ("GET", "/api/v1/rooms/{room}/invites", "rooms:read"),
    ("GET", "/api/v1/rooms/{room}/invites/{code}", "rooms:read"),
    ("DELETE", "/api/v1/rooms/{room}/invites/{code}", "rooms:write"),
    ("POST", "/api/v1/invites/{code}/accept", "rooms:write"),
    ("GET", "/api/v1/rooms/{room}/join-requests", "rooms:read"),
    ("POST", "/api/v1/rooms/{room}/join-requests/{request}/approve", "rooms:write"),
    ("POST", "/api/v1/rooms/{room}/join-requests/{request}/reject", "rooms:write"),
    ("GET", "/api/v1/join-requests", "rooms:read"),
]
OTHER_ROOMS_SCOPE = {"rooms:read": "rooms:write", "rooms:write": "rooms:read"}


def fill(path: str, cast: Cast, invite: dict[str, Any], pending: dict[str, Any]) -> str:
    return path.format(room=cast.room_id, code=invite["code"], request=pending["id"])


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_no_token_is_a_401_with_a_bearer_challenge(client, cast, invite, pending, method, path, scope):
    response = client.open(fill(path, cast, invite, pending), method=method)
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_a_garbage_token_is_a_401_invalid_token(client, cast, invite, pending, method, path, scope):
    response = client.open(fill(path, cast, invite, pending), method=method, headers=bearer("not-a-token"))
    assert_error(response, 401)
    assert "invalid_token" in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "other_scope", ["users:read users:write messages:read messages:write", "other rooms"]
)
@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_a_token_without_the_rooms_scope_is_a_403_insufficient_scope(
    client, cast, frank, invite, pending, method, path, scope, other_scope
):
    # frank is a stranger to every endpoint except accepting, so the owner asks for manager actions.
    caller = frank if "accept" in path or path == MY_JOIN_REQUESTS else cast.owner
    token = caller.token_with(OTHER_ROOMS_SCOPE[scope] if other_scope == "other rooms" else other_scope)
    response = client.open(fill(path, cast, invite, pending), method=method, headers=bearer(token))
    assert_error(response, 403)
    assert "insufficient_scope" in response.headers["WWW-Authenticate"]


def test_a_write_refused_for_its_scope_changes_nothing(client, cast, invite, pending, frank):
    read_only = bearer(frank.token_with("rooms:read"))
    assert_error(client.post(f"/api/v1/invites/{invite['code']}/accept", headers=read_only), 403)
    owner_read_only = bearer(cast.owner.token_with("rooms:read"))
    approve = room_path(cast.room_id, "join-requests", pending["id"], "approve")
    assert_error(client.post(approve, headers=owner_read_only), 403)
    assert_error(client.post(room_path(cast.room_id, "invites"), headers=owner_read_only, json={}), 403)
    assert [request["status"] for request in room_requests(client, cast.owner, cast.room_id).get_json()] == [
        "pending"
    ]
    assert len(list_invites(client, cast.owner, cast.room_id).get_json()) == 1
    assert my_requests(client, frank) == []


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_the_named_scope_alone_is_enough(client, cast, frank, invite, pending, method, path, scope):
    caller = frank if "accept" in path or path == MY_JOIN_REQUESTS else cast.owner
    response = client.open(
        fill(path, cast, invite, pending), method=method, headers=bearer(caller.token_with(scope)), json=None
    )
    assert response.status_code in (200, 201, 202, 204), response.get_json()


# --- the permission matrix: owner, admin, member, outsider, anonymous --------------------------

MANAGER_ACTIONS = {
    "create an invite": ("POST", "/api/v1/rooms/{room}/invites", 201),
    "list invites": ("GET", "/api/v1/rooms/{room}/invites", 200),
    "show an invite": ("GET", "/api/v1/rooms/{room}/invites/{code}", 200),
    "delete an invite": ("DELETE", "/api/v1/rooms/{room}/invites/{code}", 204),
    "list join requests": ("GET", "/api/v1/rooms/{room}/join-requests", 200),
    "approve a join request": ("POST", "/api/v1/rooms/{room}/join-requests/{request}/approve", 200),
    "reject a join request": ("POST", "/api/v1/rooms/{room}/join-requests/{request}/reject", 200),
}
# What each role gets for a manager action on a private room, when the action is allowed: None.
REFUSALS = {"owner": None, "admin": None, "member": 403, "outsider": 404, "anonymous": 401}


@pytest.mark.parametrize("role", list(REFUSALS))
@pytest.mark.parametrize("action", list(MANAGER_ACTIONS))
def test_manager_actions_are_for_the_owner_and_admins_only(client, cast, invite, pending, action, role):
    method, path, success = MANAGER_ACTIONS[action]
    headers = {} if role == "anonymous" else cast.user(role).headers
    response = client.open(fill(path, cast, invite, pending), method=method, headers=headers)
    refusal = REFUSALS[role]
    if refusal is None:
        assert response.status_code == success, response.get_json()
        return
    assert_error(response, refusal)
    # A refused action changed nothing: the invite is still there, the request still pending.
    assert [i["id"] for i in list_invites(client, cast.owner, cast.room_id).get_json()] == [invite["id"]]
    listed = room_requests(client, cast.owner, cast.room_id).get_json()
    assert [(request["id"], request["status"]) for request in listed] == [(pending["id"], "pending")]


@pytest.mark.parametrize("action", list(MANAGER_ACTIONS))
def test_an_outsider_of_a_public_room_is_refused_manager_actions_with_403(client, alice, bob, frank, action):
    room = create_room(client, alice, kind="public", name="Lobby")
    invite = create_invite(client, alice, room["id"])
    pending = file_request(client, frank, invite["code"])
    method, path, _ = MANAGER_ACTIONS[action]
    filled = path.format(room=room["id"], code=invite["code"], request=pending["id"])
    assert_error(client.open(filled, method=method, headers=bob.headers), 403)


def test_a_demoted_admin_loses_the_manager_actions(client, cast, invite):
    response = client.patch(
        room_path(cast.room_id, "members", cast.admin.id), headers=cast.owner.headers, json={"role": "member"}
    )
    assert response.status_code == 200
    assert_error(client.get(room_path(cast.room_id, "invites"), headers=cast.admin.headers), 403)
    assert_error(post_invite(client, cast.admin, cast.room_id), 403)
