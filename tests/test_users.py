"""The users module over HTTP: sign-up, search, your own account and public profiles (docs/api.md, Users)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from app.extensions import db
from app.modules.users.models import User as UserRow
from tests.assertions import assert_error, assert_invalid, assert_utc_timestamp
from tests.bans import ban
from tests.conftest import PASSWORD, bearer, password_token
from tests.polls import mark, received

USERS = "/api/v1/users"
ME = f"{USERS}/me"
NEW_PASSWORD = "a brand new passphrase"
# Every users endpoint behind a token, with the scope it needs (user id 1 stands for any id).
PROTECTED = [
    ("GET", USERS, "users:read"),
    ("GET", ME, "users:read"),
    ("PATCH", ME, "users:write"),
    ("DELETE", ME, "users:write"),
    ("GET", f"{USERS}/1", "users:read"),
]
OTHER_USERS_SCOPE = {"users:read": "users:write", "users:write": "users:read"}
SECRET_FIELDS = {"password", "password_hash", "current_password"}


# --- helpers -----------------------------------------------------------------------------------


def sign_up(client, username: str, password: str = PASSWORD, **fields: Any):
    return client.post(USERS, json={"username": username, "password": password, **fields})


def search(client, user, **params: Any):
    response = client.get(USERS, headers=user.headers, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response


def usernames(response) -> list[str]:
    return [profile["username"] for profile in response.get_json()]


def pagination(response) -> dict[str, int]:
    return json.loads(response.headers["X-Pagination"])


def profile_of(client, viewer, user_id: int) -> dict[str, Any]:
    response = client.get(f"{USERS}/{user_id}", headers=viewer.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def token_request(client, **form: str):
    return client.post("/auth/oauth2/token", data={"client_id": "documentation", **form})


def login(client, username: str, password: str):
    return token_request(client, grant_type="password", username=username, password=password)


def assert_invalid_grant(response) -> None:
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def assert_profile(body: dict[str, Any], **expected: Any) -> None:
    """`expected` fields with exactly these values, and no secret ever."""
    assert {key: body.get(key, "<absent>") for key in expected} == expected
    assert not SECRET_FIELDS & body.keys()


# --- POST /users: sign-up ----------------------------------------------------------------------


def test_sign_up_answers_201_with_the_new_account_and_its_location(client):
    response = sign_up(client, "alice", email="alice@example.com", display_name="Alice")
    assert response.status_code == 201
    body = response.get_json()
    assert isinstance(body["id"], int)
    assert_profile(
        body,
        username="alice",
        display_name="Alice",
        email="alice@example.com",
        deleted=False,
        is_admin=False,
    )
    assert_utc_timestamp(body["created_at"])
    assert urlsplit(response.headers["Location"]).path == f"{USERS}/{body['id']}"


def test_the_location_of_a_new_account_serves_its_profile(client, bob):
    location = sign_up(client, "carol").headers["Location"]
    response = client.get(urlsplit(location).path, headers=bob.headers)
    assert response.status_code == 200
    assert response.get_json()["username"] == "carol"


def test_sign_up_keeps_the_username_case_and_strings_untrimmed(client):
    body = sign_up(client, "Alice", display_name="  Alice  ").get_json()
    assert body["username"] == "Alice"
    assert body["display_name"] == "  Alice  "


@pytest.mark.parametrize("username", ["abc", "a" * 32, "A.b-c_9"])
@pytest.mark.parametrize("password", ["p" * 8, "p" * 128])
def test_sign_up_accepts_the_limits_of_username_and_password(client, username, password):
    assert sign_up(client, username, password).status_code == 201
    assert login(client, username, password).status_code == 200


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"username": "ab"}, "username"),
        ({"username": "a" * 33}, "username"),
        ({"username": "al ice"}, "username"),
        ({"username": "alice!"}, "username"),
        ({"username": "élise"}, "username"),
        ({"password": "p" * 7}, "password"),
        ({"password": "p" * 129}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"display_name": "d" * 65}, "display_name"),
        ({"is_admin": True}, "is_admin"),
        ({"nickname": "ally"}, "nickname"),
    ],
)
def test_invalid_sign_up_is_a_422_naming_the_field_and_creates_nobody(client, alice, fields, bad_field):
    response = client.post(USERS, json={"username": "newbie", "password": PASSWORD, **fields})
    assert_invalid(response, "json", bad_field)
    assert usernames(search(client, alice)) == ["alice"]


@pytest.mark.parametrize("missing", ["username", "password"])
def test_sign_up_without_a_required_field_is_a_422_naming_it(client, missing):
    fields = {"username": "newbie", "password": PASSWORD}
    del fields[missing]
    assert_invalid(client.post(USERS, json=fields), "json", missing)


@pytest.mark.parametrize("taken", ["alice", "Alice", "ALICE"])
def test_duplicate_username_is_a_409_case_insensitively(client, alice, taken):
    response = sign_up(client, taken)
    assert "username" in assert_error(response, 409)["errors"]["json"]
    assert usernames(search(client, alice)) == ["alice"]


def test_sign_up_joins_the_general_room(app, client, alice):
    rooms = client.get("/api/v1/rooms", headers=alice.headers).get_json()
    assert [(room["name"], room["kind"], room["role"]) for room in rooms] == [
        (app.config["GENERAL_ROOM_NAME"], "public", "member")
    ]


def test_the_password_is_stored_as_an_argon2id_hash(app, alice):
    with app.app_context():
        user = db.session.get(UserRow, alice.id)
        assert user is not None
        stored = user.password_hash
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


# --- authentication and scopes, on every protected endpoint ------------------------------------


@pytest.mark.parametrize(("method", "path", "scope"), PROTECTED)
def test_no_token_is_a_401_with_a_bearer_challenge(client, method, path, scope):
    response = client.open(path, method=method)
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "scope"), PROTECTED)
def test_a_garbage_token_is_a_401_invalid_token(client, method, path, scope):
    response = client.open(path, method=method, headers=bearer("not-a-real-token"))
    assert_error(response, 401)
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer")
    assert "invalid_token" in challenge


@pytest.mark.parametrize(("method", "path", "scope"), PROTECTED)
def test_a_token_without_the_users_scopes_is_a_403_insufficient_scope(client, alice, method, path, scope):
    response = client.open(path, method=method, headers=bearer(alice.token_with("rooms:read")))
    assert_error(response, 403)
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer")
    assert "insufficient_scope" in challenge


@pytest.mark.parametrize(("method", "path", "scope"), PROTECTED)
def test_each_endpoint_needs_its_own_users_scope(client, alice, method, path, scope):
    wrong = bearer(alice.token_with(OTHER_USERS_SCOPE[scope]))
    assert_error(client.open(path, method=method, headers=wrong), 403)


@pytest.mark.parametrize(
    ("written", "status"),
    [
        ("Bearer {}", 200),
        ("bearer {}", 200),
        ("BEARER {}", 200),
        ("Bearer  {}", 200),
        ("Bearer\t{}", 200),
        ("Bearer ", 401),
        ("Bearer", 401),
        ("Basic {}", 401),
        ("Bearer{}", 401),
    ],
)
def test_the_authorization_header_is_read_however_it_spaces_and_cases_the_scheme(
    client, alice, written, status
):
    """The common `Bearer <token>` is read on a short path: every other spelling the same as before."""
    response = client.get(ME, headers={"Authorization": written.format(alice.token)})
    assert response.status_code == status
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="parley"')


@pytest.mark.parametrize("path", [USERS, ME, f"{USERS}/{{id}}"])
def test_users_read_alone_is_enough_to_read(client, alice, path):
    response = client.get(path.format(id=alice.id), headers=bearer(alice.token_with("users:read")))
    assert response.status_code == 200


# --- GET /users/me, GET /users/{id} ------------------------------------------------------------


def test_me_shows_the_own_profile_with_email(client, make_user):
    carol = make_user("carol", email="carol@example.com", display_name="Carol")
    response = client.get(ME, headers=carol.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert_profile(
        body,
        id=carol.id,
        username="carol",
        display_name="Carol",
        email="carol@example.com",
        deleted=False,
        is_admin=False,
    )
    assert_utc_timestamp(body["created_at"])


@pytest.mark.parametrize("kind", ["plain", "with email and display name", "admin", "banned"])
def test_me_reads_byte_for_byte_as_the_schema_dumps_the_account(app, client, make_user, admin, kind):
    """`GET /users/me` shows the caller read with the token by hand (users.schemas.shown_caller); a
    profile change answers the account as the schema's own loop dumps it."""
    user = {
        "plain": lambda: make_user("carol", display_name=None),
        "with email and display name": lambda: make_user("carol", email="c@example.com", display_name="C"),
        "admin": lambda: admin,
        "banned": lambda: make_user("carol"),
    }[kind]()
    if kind == "banned":
        ban(app, client, make_user, user)
    shown = client.get(ME, headers=user.headers)
    changed = client.patch(ME, json={}, headers=user.headers)
    assert (shown.status_code, changed.status_code) == (200, 200)
    assert shown.data == changed.data
    assert shown.get_json()["is_admin"] is (kind == "admin")
    assert (shown.get_json()["banned_until"] is not None) is (kind == "banned")


def test_a_public_profile_shows_id_username_display_name_and_created_at(client, alice, bob):
    body = profile_of(client, bob, alice.id)
    assert_profile(body, id=alice.id, username="alice", display_name="Alice", deleted=False)
    assert body["created_at"] == alice.data["created_at"]
    assert_utc_timestamp(body["created_at"])


def test_email_is_absent_from_another_users_view(client, make_user, bob):
    carol = make_user("carol", email="carol@example.com")
    assert "email" not in profile_of(client, bob, carol.id)


def test_email_is_visible_to_the_user_themself(client, make_user):
    carol = make_user("carol", email="carol@example.com")
    assert profile_of(client, carol, carol.id)["email"] == "carol@example.com"


def test_email_is_visible_to_admins(client, make_user, admin):
    carol = make_user("carol", email="carol@example.com")
    assert profile_of(client, admin, carol.id)["email"] == "carol@example.com"


def test_an_admin_sees_is_admin_on_their_own_profile(client, admin):
    assert client.get(ME, headers=admin.headers).get_json()["is_admin"] is True


def test_an_unknown_user_id_is_a_404(client, alice):
    assert_error(client.get(f"{USERS}/999999", headers=alice.headers), 404)


# --- GET /users?q= -----------------------------------------------------------------------------


@pytest.fixture
def crowd(make_user, alice, bob):
    """alice (Alice), bob (Bob), zed (Zoe Smith), _under, pct (%off)."""
    return [
        alice,
        bob,
        make_user("zed", display_name="Zoe Smith"),
        make_user("_under"),
        make_user("pct", display_name="%off"),
    ]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("al", ["alice"]),
        ("ALI", ["alice"]),
        ("zoe", ["zed"]),
        ("ZOE S", ["zed"]),
        ("b", ["bob"]),
        ("lice", []),
        ("Smith", []),
    ],
)
def test_search_matches_a_username_or_display_name_prefix_case_insensitively(client, crowd, q, expected):
    assert usernames(search(client, crowd[0], q=q)) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [("_", ["_under"]), ("%", ["pct"]), ("a%", []), ("a_ice", []), ("%o", ["pct"])],
)
def test_search_treats_like_wildcards_literally(client, crowd, q, expected):
    assert usernames(search(client, crowd[0], q=q)) == expected


def test_search_without_q_lists_everyone(client, crowd):
    found = usernames(search(client, crowd[0]))
    assert sorted(found) == sorted(user.username for user in crowd)


def test_search_shows_email_only_for_the_caller_themself(client, make_user, bob):
    carol = make_user("carol", email="carol@example.com")
    make_user("cara", email="cara@example.com")
    profiles = {p["username"]: p for p in search(client, carol, q="car").get_json()}
    assert profiles["carol"]["email"] == "carol@example.com"
    assert "email" not in profiles["cara"]
    assert all("email" not in p for p in search(client, bob, q="car").get_json())


def test_search_does_not_list_deleted_users(client, alice, bob):
    client.delete(ME, headers=bob.headers, json={"current_password": PASSWORD})
    assert usernames(search(client, alice, q="b")) == []
    assert usernames(search(client, alice)) == ["alice"]


def test_search_pages_default_to_20_with_an_x_pagination_header(client, alice, bob):
    response = search(client, alice)
    assert pagination(response) == {"total": 2, "total_pages": 1, "page": 1, "page_size": 20}


def test_search_pagination_splits_the_results(client, crowd):
    first = search(client, crowd[0], page_size=2)
    assert pagination(first) == {"total": 5, "total_pages": 3, "page": 1, "page_size": 2}
    pages = [usernames(search(client, crowd[0], page=page, page_size=2)) for page in (1, 2, 3)]
    assert [len(page) for page in pages] == [2, 2, 1]
    assert sorted(name for page in pages for name in page) == sorted(user.username for user in crowd)


def test_search_page_2_holds_the_rest_of_the_matches(client, make_user, alice):
    for name in ("cara", "carl", "carol"):
        make_user(name)
    first = search(client, alice, q="car", page_size=2)
    second = search(client, alice, q="car", page=2, page_size=2)
    assert pagination(second) == {"total": 3, "total_pages": 2, "page": 2, "page_size": 2}
    assert len(usernames(second)) == 1
    assert sorted(usernames(first) + usernames(second)) == ["cara", "carl", "carol"]


@pytest.mark.parametrize(
    ("params", "bad_field"),
    [({"page_size": 101}, "page_size"), ({"page_size": 0}, "page_size"), ({"page": 0}, "page")],
)
def test_out_of_range_pagination_is_a_422_naming_the_parameter(client, alice, params, bad_field):
    response = client.get(USERS, headers=alice.headers, query_string=params)
    assert_invalid(response, "query", bad_field)


# --- PATCH /users/me ---------------------------------------------------------------------------


def test_display_name_changes_without_a_password(client, alice, bob):
    response = client.patch(ME, headers=alice.headers, json={"display_name": "Ally"})
    assert response.status_code == 200
    assert_profile(response.get_json(), id=alice.id, username="alice", display_name="Ally")
    assert profile_of(client, bob, alice.id)["display_name"] == "Ally"


def test_a_display_name_change_reaches_everyone_sharing_a_room_as_user_updated(client, alice, bob):
    since = mark(client, bob)

    assert client.patch(ME, headers=alice.headers, json={"display_name": "Ally"}).status_code == 200

    shown = profile_of(client, bob, alice.id).items()
    public = {k: v for k, v in shown if k not in ("presence", "last_seen_at")}
    assert public["display_name"] == "Ally"
    assert received(client, bob, since, "user.updated") == [public]  # they share `general`
    assert received(client, alice, since, "user.updated") == [public]  # and her other devices


def test_user_updated_reaches_no_one_who_shares_no_room(client, alice, make_user):
    carol = make_user("carol")
    general = client.get("/api/v1/rooms", headers=carol.headers).get_json()[0]["id"]
    assert client.delete(f"/api/v1/rooms/{general}/members/me", headers=carol.headers).status_code == 204
    since = mark(client, carol)

    client.patch(ME, headers=alice.headers, json={"display_name": "Ally"})

    assert received(client, carol, since, "user.updated") == []
    assert [p["display_name"] for p in received(client, alice, since, "user.updated")] == ["Ally"]


@pytest.mark.parametrize(
    "change",
    [{"display_name": "Alice"}, {"email": "alice@example.com", "current_password": PASSWORD}],
    ids=["same-display-name", "email"],
)
def test_a_change_others_cannot_see_announces_nothing(client, alice, bob, change):
    since = mark(client, bob)

    assert client.patch(ME, headers=alice.headers, json=change).status_code == 200

    assert received(client, bob, since, "user.updated") == []
    assert received(client, alice, since, "user.updated") == []


@pytest.mark.parametrize("change", [{"password": NEW_PASSWORD}, {"email": "new@example.com"}])
def test_changing_password_or_email_without_current_password_is_a_422(client, alice, change):
    assert_invalid(client.patch(ME, headers=alice.headers, json=change), "json", "current_password")


@pytest.mark.parametrize("change", [{"password": NEW_PASSWORD}, {"email": "new@example.com"}])
def test_changing_password_or_email_with_a_wrong_current_password_is_a_403_and_changes_nothing(
    client, alice, change
):
    response = client.patch(ME, headers=alice.headers, json={**change, "current_password": "wrong-pass"})
    assert_error(response, 403)
    assert client.get(ME, headers=alice.headers).get_json()["email"] is None
    assert login(client, "alice", PASSWORD).status_code == 200


def test_a_password_change_with_the_right_current_password_replaces_the_old_password(client, alice):
    response = client.patch(
        ME, headers=alice.headers, json={"password": NEW_PASSWORD, "current_password": PASSWORD}
    )
    assert response.status_code == 200
    assert not SECRET_FIELDS & response.get_json().keys()
    assert password_token(client, "alice", NEW_PASSWORD)["access_token"]
    assert_invalid_grant(login(client, "alice", PASSWORD))


def change_password(client, user) -> None:
    response = client.patch(
        ME, headers=user.headers, json={"password": NEW_PASSWORD, "current_password": PASSWORD}
    )
    assert response.status_code == 200, response.get_json()


def test_a_password_change_ends_every_other_session_of_the_user(client, alice, bob):
    other = password_token(client, "alice", PASSWORD)
    bot = client.post("/api/v1/auth/clients", json={"name": "bot"}, headers=alice.headers).get_json()
    machine = client.post(
        "/auth/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(bot["client_id"], bot["client_secret"]),
    ).get_json()

    change_password(client, alice)

    for token in (other["access_token"], machine["access_token"]):
        assert client.get(ME, headers=bearer(token)).status_code == 401
    assert_invalid_grant(
        token_request(client, grant_type="refresh_token", refresh_token=other["refresh_token"])
    )
    assert client.get(ME, headers=bob.headers).status_code == 200  # other users are untouched


def test_the_session_that_changed_the_password_goes_on(client, alice):
    change_password(client, alice)

    assert client.get(ME, headers=alice.headers).status_code == 200
    refreshed = token_request(client, grant_type="refresh_token", refresh_token=alice.refresh_token)
    assert refreshed.status_code == 200, refreshed.get_json()
    assert client.get(ME, headers=bearer(refreshed.get_json()["access_token"])).status_code == 200


def test_an_email_change_with_the_right_current_password_is_saved(client, alice):
    response = client.patch(
        ME, headers=alice.headers, json={"email": "alice@example.com", "current_password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.get_json()["email"] == "alice@example.com"
    assert client.get(ME, headers=alice.headers).get_json()["email"] == "alice@example.com"


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"password": "p" * 7, "current_password": PASSWORD}, "password"),
        ({"email": "nope", "current_password": PASSWORD}, "email"),
        ({"display_name": "d" * 65}, "display_name"),
        ({"username": "mallory"}, "username"),
        ({"is_admin": True}, "is_admin"),
    ],
)
def test_an_invalid_profile_change_is_a_422_naming_the_field_and_changes_nothing(
    client, alice, fields, bad_field
):
    assert_invalid(client.patch(ME, headers=alice.headers, json=fields), "json", bad_field)
    assert_profile(
        client.get(ME, headers=alice.headers).get_json(),
        username="alice",
        display_name="Alice",
        email=None,
        is_admin=False,
    )


# --- DELETE /users/me --------------------------------------------------------------------------


def delete_me(client, user, **body: Any):
    return client.delete(ME, headers=user.headers, json=body)


@pytest.mark.parametrize("body", [None, {}])
def test_deleting_the_account_without_current_password_is_a_422(client, alice, body):
    response = client.delete(ME, headers=alice.headers, json=body)
    assert_invalid(response, "json", "current_password")
    assert client.get(ME, headers=alice.headers).status_code == 200


def test_deleting_the_account_with_a_wrong_password_is_a_403_and_keeps_it(client, alice):
    assert_error(delete_me(client, alice, current_password="wrong-pass"), 403)
    assert client.get(ME, headers=alice.headers).status_code == 200


def test_deleting_the_account_answers_204_with_no_body(client, alice):
    response = delete_me(client, alice, current_password=PASSWORD)
    assert response.status_code == 204
    assert response.data == b""


def test_a_deleted_account_has_every_access_token_revoked(client, alice):
    second = password_token(client, "alice", PASSWORD)["access_token"]
    delete_me(client, alice, current_password=PASSWORD)
    for token in (alice.token, second):
        response = client.get(ME, headers=bearer(token))
        assert_error(response, 401)
        assert "invalid_token" in response.headers["WWW-Authenticate"]


def test_a_deleted_accounts_refresh_token_is_refused(client, alice, bob):
    delete_me(client, alice, current_password=PASSWORD)
    assert_invalid_grant(token_request(client, grant_type="refresh_token", refresh_token=alice.refresh_token))
    # Someone else's tokens are untouched.
    assert client.get(ME, headers=bob.headers).status_code == 200
    refreshed = token_request(client, grant_type="refresh_token", refresh_token=bob.refresh_token)
    assert refreshed.status_code == 200


def test_a_deleted_account_cannot_log_in(client, alice):
    delete_me(client, alice, current_password=PASSWORD)
    assert_invalid_grant(login(client, "alice", PASSWORD))


def test_a_deleted_users_profile_shows_a_deleted_user(client, make_user, bob):
    carol = make_user("carol", email="carol@example.com", display_name="Carol")
    delete_me(client, carol, current_password=PASSWORD)
    body = profile_of(client, bob, carol.id)
    assert_profile(body, id=carol.id, username="deleted-user", display_name="Deleted user", deleted=True)
    assert "email" not in body
    assert_utc_timestamp(body["created_at"])


def test_a_deleted_users_username_can_be_signed_up_again(client, alice, bob):
    delete_me(client, alice, current_password=PASSWORD)
    response = sign_up(client, "Alice")
    assert response.status_code == 201
    assert response.get_json()["id"] != alice.id
    assert login(client, "Alice", PASSWORD).status_code == 200
    assert profile_of(client, bob, alice.id)["username"] == "deleted-user"
