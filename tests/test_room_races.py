"""Rooms under concurrent identical requests: one change, one event, the idempotent answer for the rest.

Every scene sends its requests at the same moment (tests/concurrency.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.assertions import ok
from tests.concurrency import TIMES, at_once, event_types, repeated, statuses
from tests.conftest import User
from tests.outbox import last_event_id
from tests.rooms import ROOMS, create_room, room_path


def create_invite(client, owner: User, room_id: int, **fields: Any) -> dict[str, Any]:
    return ok(client.post(room_path(room_id, "invites"), headers=owner.headers, json=fields), 201)


def member_ids(client, viewer: User, room_id: int) -> list[int]:
    members = ok(client.get(room_path(room_id, "members"), headers=viewer.headers))
    return sorted(member["user"]["id"] for member in members)


def room_requests(client, manager: User, room_id: int) -> list[dict[str, Any]]:
    return ok(client.get(room_path(room_id, "join-requests"), headers=manager.headers))


def uses_of(client, manager: User, room_id: int, invite: dict[str, Any]) -> int:
    return ok(client.get(room_path(room_id, "invites", invite["id"]), headers=manager.headers))["uses"]


@pytest.fixture
def strangers(make_user) -> list[User]:
    return [make_user(f"stranger{n}") for n in range(TIMES)]


# --- invites -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("requires_approval", "success"), [(False, 200), (True, 202)])
def test_a_one_use_invite_lets_exactly_one_of_several_concurrent_accepters_in(
    app, live_server, client, alice, strangers, requires_approval, success
):
    room = create_room(client, alice)
    invite = create_invite(client, alice, room["id"], max_uses=1, requires_approval=requires_approval)
    mark = last_event_id(app)
    path = f"/api/v1/invites/{invite['code']}/accept"
    answers = at_once(live_server, [(user, "POST", path, None) for user in strangers])
    assert statuses(answers) == {success: 1, 410: TIMES - 1}, [a.text for a in answers]
    assert uses_of(client, alice, room["id"], invite) == 1
    joined = 1 if not requires_approval else 0
    assert len(member_ids(client, alice, room["id"])) == 1 + joined
    assert len(room_requests(client, alice, room["id"])) == 1 - joined
    expected = "member.added" if not requires_approval else "join_request.created"
    assert event_types(app, mark) == {expected: 1}


@pytest.mark.parametrize(("requires_approval", "first", "repeat"), [(False, 200, 409), (True, 202, 202)])
def test_one_user_accepting_an_invite_several_times_at_once_joins_or_asks_once(
    app, live_server, client, alice, bob, requires_approval, first, repeat
):
    room = create_room(client, alice)
    invite = create_invite(client, alice, room["id"], requires_approval=requires_approval)
    mark = last_event_id(app)
    answers = repeated(live_server, bob, "POST", f"/api/v1/invites/{invite['code']}/accept")
    assert statuses(answers) == ({first: 1, repeat: TIMES - 1} if first != repeat else {first: TIMES})
    assert uses_of(client, alice, room["id"], invite) == 1
    if requires_approval:
        assert {answer.json()["id"] for answer in answers} == {
            room_requests(client, alice, room["id"])[0]["id"]
        }
        assert event_types(app, mark) == {"join_request.created": 1}
    else:
        assert member_ids(client, alice, room["id"]) == sorted([alice.id, bob.id])
        assert event_types(app, mark) == {"member.added": 1}


def test_concurrent_withdrawals_of_an_invite_answer_204_once_and_404_after(app, live_server, client, alice):
    room = create_room(client, alice)
    invite = create_invite(client, alice, room["id"])
    mark = last_event_id(app)
    answers = repeated(live_server, alice, "DELETE", room_path(room["id"], "invites", invite["id"]))
    assert statuses(answers) == {204: 1, 404: TIMES - 1}
    assert event_types(app, mark) == {"invite.deleted": 1}


@pytest.mark.parametrize("decisions", [["approve"] * TIMES, ["approve", "reject"] * 2 + ["reject"]])
def test_concurrent_decisions_on_a_join_request_let_the_first_hold(
    app, live_server, client, alice, bob, decisions
):
    room = create_room(client, alice)
    invite = create_invite(client, alice, room["id"])
    request = ok(client.post(f"/api/v1/invites/{invite['code']}/accept", headers=bob.headers), 202)
    mark = last_event_id(app)
    base = room_path(room["id"], "join-requests", request["id"])
    answers = at_once(live_server, [(alice, "POST", f"{base}/{decision}", None) for decision in decisions])
    assert statuses(answers) == {200: 1, 409: TIMES - 1}, [a.text for a in answers]
    [winner] = [answer.json() for answer in answers if answer.status_code == 200]
    [shown] = room_requests(client, alice, room["id"])
    assert shown["status"] == winner["status"]
    approved = winner["status"] == "approved"
    assert (bob.id in member_ids(client, alice, room["id"])) is approved
    assert event_types(app, mark) == {"join_request.resolved": 1, **({"member.added": 1} if approved else {})}


# --- members -----------------------------------------------------------------------------------


def test_joining_a_public_room_several_times_at_once_adds_one_member(app, live_server, client, alice, bob):
    room = create_room(client, alice, kind="public")
    mark = last_event_id(app)
    answers = repeated(live_server, bob, "POST", room_path(room["id"], "join"))
    assert statuses(answers) == {200: TIMES}, [a.text for a in answers]
    assert {answer.json()["member_count"] for answer in answers} == {2}
    assert event_types(app, mark) == {"member.added": 1}


def test_adding_one_user_several_times_at_once_answers_201_once_and_409_after(
    app, live_server, client, alice, bob
):
    room = create_room(client, alice)
    mark = last_event_id(app)
    answers = repeated(live_server, alice, "POST", room_path(room["id"], "members"), {"username": "bob"})
    assert statuses(answers) == {201: 1, 409: TIMES - 1}, [a.text for a in answers]
    assert member_ids(client, alice, room["id"]) == sorted([alice.id, bob.id])
    assert event_types(app, mark) == {"member.added": 1}


@pytest.mark.parametrize("how", ["leave", "kick"])
def test_removing_a_member_several_times_at_once_answers_204_once_and_404_after(
    app, live_server, client, alice, bob, how
):
    room = create_room(client, alice, members=["bob"])
    mark = last_event_id(app)
    by, ref = (bob, "me") if how == "leave" else (alice, bob.id)
    answers = repeated(live_server, by, "DELETE", room_path(room["id"], "members", ref))
    assert statuses(answers) == {204: 1, 404: TIMES - 1}, [a.text for a in answers]
    assert member_ids(client, alice, room["id"]) == [alice.id]
    assert event_types(app, mark) == {"member.removed": 1}


# --- rooms -------------------------------------------------------------------------------------


def test_concurrent_requests_for_a_direct_room_from_both_sides_make_one_room(
    app, live_server, client, alice, bob
):
    mark = last_event_id(app)
    calls: list[tuple[User, str, str, dict[str, Any] | None]] = [
        (user, "POST", f"{ROOMS}/direct", {"username": other.username})
        for user, other in [(alice, bob), (bob, alice)] * 2 + [(alice, bob)]
    ]
    answers = at_once(live_server, calls)
    assert statuses(answers) == {201: 1, 200: TIMES - 1}, [a.text for a in answers]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert event_types(app, mark) == {"member.added": 2, "room.created": 1}


def test_coming_back_to_a_direct_room_several_times_at_once_adds_you_once(
    app, live_server, client, alice, bob
):
    room = ok(client.post(f"{ROOMS}/direct", headers=alice.headers, json={"username": "bob"}), 201)
    assert client.delete(room_path(room["id"], "members", "me"), headers=bob.headers).status_code == 204
    mark = last_event_id(app)
    answers = repeated(live_server, bob, "POST", f"{ROOMS}/direct", {"username": "alice"})
    assert statuses(answers) == {200: TIMES}, [a.text for a in answers]
    assert event_types(app, mark) == {"member.added": 1}


def test_deleting_a_room_several_times_at_once_answers_204_once_and_404_after(
    app, live_server, client, alice, bob
):
    room = create_room(client, alice, members=["bob"])
    ok(client.post(room_path(room["id"], "messages"), headers=bob.headers, json={"body": "hi"}), 201)
    mark = last_event_id(app)
    answers = repeated(live_server, alice, "DELETE", room_path(room["id"]))
    assert statuses(answers) == {204: 1, 404: TIMES - 1}, [a.text for a in answers]
    assert event_types(app, mark) == {"room.deleted": 1}
