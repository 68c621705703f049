"""Reports: distinct reporters reaching the threshold stop a user posting for a while."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.modules.moderation.models import Report
from app.modules.users.models import User as UserRow
from tests.polls import mark, received


def report(client, reporter, user_id, **body):
    return client.post(
        f"/api/v1/users/{user_id}/reports", json={"reason": "spam", **body}, headers=reporter.headers
    )


@pytest.fixture
def room(client, alice, bob):
    return client.post(
        "/api/v1/rooms", json={"name": "den", "members": ["bob"]}, headers=alice.headers
    ).get_json()


def say(client, user, room, body="hi"):
    return client.post(f"/api/v1/rooms/{room['id']}/messages", json={"body": body}, headers=user.headers)


def test_a_report_is_created_with_its_reason(client, alice, bob):
    response = report(client, alice, bob.id, reason="rude")
    assert response.status_code == 201
    body = response.get_json()
    assert (body["reported_user_id"], body["reason"], body["message_id"]) == (bob.id, "rude", None)
    assert body["created_at"].endswith("+00:00")


def test_a_report_may_cite_a_message_of_theirs_the_reporter_can_see(client, alice, bob, room):
    message = say(client, bob, room).get_json()
    assert report(client, alice, bob.id, message_id=message["id"]).get_json()["message_id"] == message["id"]


def test_citing_someone_elses_or_an_invisible_message_is_a_422(client, alice, bob, make_user, room):
    own = say(client, alice, room).get_json()
    carol = make_user("carol")
    assert "message_id" in report(client, alice, bob.id, message_id=own["id"]).get_json()["errors"]["json"]
    bobs = say(client, bob, room).get_json()
    response = report(client, carol, bob.id, message_id=bobs["id"])
    assert response.status_code == 422
    assert "message_id" in response.get_json()["errors"]["json"]


@pytest.mark.parametrize("body", [{"reason": ""}, {"reason": "x" * 1001}, {"reason": None}, {"extra": 1}])
def test_a_bad_report_is_a_422_naming_the_field(client, alice, bob, body):
    response = client.post(f"/api/v1/users/{bob.id}/reports", json=body, headers=alice.headers)
    assert response.status_code == 422
    assert set(body) & set(response.get_json()["errors"]["json"])


def test_reporting_yourself_is_a_422(client, alice):
    assert report(client, alice, alice.id).status_code == 422


def test_reporting_an_unknown_user_is_a_404(client, alice):
    assert report(client, alice, 999_999).status_code == 404


def test_reporting_needs_a_token_and_users_write(client, alice, bob):
    assert client.post(f"/api/v1/users/{bob.id}/reports", json={"reason": "x"}).status_code == 401
    token = alice.token_with("users:read")
    response = client.post(
        f"/api/v1/users/{bob.id}/reports", json={"reason": "x"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403


def test_three_distinct_reporters_stop_a_user_posting_with_the_end_time(client, alice, bob, make_user, room):
    carol, dave = make_user("carol"), make_user("dave")
    report(client, alice, bob.id)
    report(client, alice, bob.id)  # the same reporter counts once
    report(client, carol, bob.id)
    assert say(client, bob, room).status_code == 201
    report(client, dave, bob.id)
    refused = say(client, bob, room)
    assert refused.status_code == 403
    until = client.get("/api/v1/users/me", headers=bob.headers).get_json()["banned_until"]
    assert until in refused.get_json()["message"]
    hours = (datetime.fromisoformat(until) - datetime.now(UTC)) / timedelta(hours=1)
    assert 3.9 < hours <= 4


def test_a_ban_ends_and_old_reports_do_not_count_again(app, client, alice, bob, make_user, room):
    reporters = [alice, make_user("carol"), make_user("dave")]
    for reporter in reporters:
        report(client, reporter, bob.id)
    with app.app_context():  # four hours later: the ban has run out
        user = db.session.get(UserRow, bob.id)
        assert user is not None
        user.banned_until = datetime.now(UTC) - timedelta(seconds=1)
        for filed in db.session.scalars(select(Report)):
            filed.created_at -= timedelta(hours=4, seconds=10)
        db.session.commit()
    assert say(client, bob, room).status_code == 201
    report(client, alice, bob.id)
    assert say(client, bob, room).status_code == 201


# --- the banned user's devices hear of the ban; admins lift it -------------------------------------


@pytest.fixture
def banned(client, alice, bob, make_user):
    """bob, banned by three reporters (alice, carol, dave)."""
    for reporter in (alice, make_user("carol"), make_user("dave")):
        assert report(client, reporter, bob.id).status_code == 201
    return bob


def test_the_report_that_bans_tells_the_banned_users_devices_ban_updated(client, alice, bob, make_user):
    reporters = [alice, make_user("carol"), make_user("dave")]
    since = mark(client, bob)

    for reporter in reporters:
        report(client, reporter, bob.id)

    until = client.get("/api/v1/users/me", headers=bob.headers).get_json()["banned_until"]
    assert until is not None
    assert received(client, bob, since, "ban.updated") == [{"user_id": bob.id, "banned_until": until}]
    assert received(client, alice, since, "ban.updated") == []


def test_an_admin_lifts_a_ban_and_the_users_devices_hear_it(client, banned, admin, room):
    since = mark(client, banned)

    response = client.delete(f"/api/v1/users/{banned.id}/ban", headers=admin.headers)

    assert response.status_code == 204
    assert response.get_data() == b""
    assert say(client, banned, room).status_code == 201
    assert client.get("/api/v1/users/me", headers=banned.headers).get_json()["banned_until"] is None
    assert received(client, banned, since, "ban.updated") == [{"user_id": banned.id, "banned_until": None}]


def test_reports_before_a_lifted_ban_count_towards_no_new_one(client, alice, banned, admin, room):
    client.delete(f"/api/v1/users/{banned.id}/ban", headers=admin.headers)

    report(client, alice, banned.id)

    assert say(client, banned, room).status_code == 201


def test_lifting_no_ban_is_a_quiet_204(client, bob, admin):
    since = mark(client, bob)
    assert client.delete(f"/api/v1/users/{bob.id}/ban", headers=admin.headers).status_code == 204
    assert received(client, bob, since, "ban.updated") == []


def test_only_admins_lift_bans(client, alice, banned, room):
    response = client.delete(f"/api/v1/users/{banned.id}/ban", headers=alice.headers)

    assert response.status_code == 403
    assert response.get_json()["code"] == 403
    assert say(client, banned, room).status_code == 403


# --- GET /api/v1/reports: administrators read them --------------------------------------------------


def test_an_admin_lists_reports_newest_first_and_filters_by_user(client, alice, bob, admin, make_user):
    carol = make_user("carol")
    report(client, alice, bob.id, reason="first")
    report(client, bob, carol.id, reason="second")
    report(client, carol, bob.id, reason="third")

    listed = client.get("/api/v1/reports", headers=admin.headers)
    about_bob = client.get("/api/v1/reports", query_string={"user_id": bob.id}, headers=admin.headers)

    assert listed.status_code == 200
    assert [r["reason"] for r in listed.get_json()] == ["third", "second", "first"]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 3
    assert [(r["reason"], r["reporter_id"]) for r in about_bob.get_json()] == [
        ("third", carol.id),
        ("first", alice.id),
    ]


def test_only_admins_read_reports(client, alice, bob):
    report(client, alice, bob.id)

    response = client.get("/api/v1/reports", headers=alice.headers)

    assert response.status_code == 403
    assert response.get_json()["code"] == 403
