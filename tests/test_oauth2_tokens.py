"""The OAuth2 token, revocation and introspection endpoints, spoken to over HTTP.

Contract: docs/api.md (OAuth2, Conventions, Defaults). Error bodies here are RFC 6749's
`{"error", "error_description"}`, except the resource endpoints, which answer in
the API's own `{code, status, message}` shape.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from passlib.context import CryptContext
from sqlalchemy import func, select

from app.extensions import db
from app.modules.auth.models import OAuth2Token
from app.modules.users.models import User as UserRow
from tests.conftest import age_tokens, basic, bearer, password_token
from tests.oauth2 import BOT_CALLBACK, code_tokens

TOKEN_URL = "/auth/oauth2/token"
REVOKE_URL = "/auth/oauth2/revoke"
INTROSPECT_URL = "/auth/oauth2/introspect"
ME_URL = "/api/v1/users/me"
PUBLIC = {"client_id": "documentation"}


# --- helpers -----------------------------------------------------------------------------------


def post_token(client: FlaskClient, data: dict[str, str], **kwargs: Any) -> Any:
    return client.post(TOKEN_URL, data=data, **kwargs)


def password_form(user: Any, **extra: str) -> dict[str, str]:
    return {"grant_type": "password", "username": user.username, "password": user.password, **extra}


def refresh(client: FlaskClient, refresh_token: str, **auth: Any) -> Any:
    """A refresh_token grant; by default as the public `documentation` client."""
    headers = auth.pop("headers", None)
    client_auth = auth if auth or headers else PUBLIC
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **client_auth}
    return post_token(client, data, headers=headers)


def assert_oauth2_error(response: Any, status: int | tuple[int, ...], *errors: str) -> dict[str, Any]:
    statuses = status if isinstance(status, tuple) else (status,)
    body = response.get_json()
    assert response.status_code in statuses, body
    assert body["error"] in errors, body
    assert "access_token" not in body
    return body


def me(client: FlaskClient, token: str) -> Any:
    return client.get(ME_URL, headers=bearer(token))


def assert_token_works(client: FlaskClient, token: str, username: str) -> None:
    response = me(client, token)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["username"] == username


def assert_token_dead(client: FlaskClient, token: str) -> None:
    response = me(client, token)
    assert response.status_code == 401, response.get_json()
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def token_count(app: Flask) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(OAuth2Token)).scalar_one()


def create_confidential_client(client: FlaskClient, owner: Any, name: str = "bot") -> dict[str, Any]:
    response = client.post(
        "/api/v1/auth/clients", headers=owner.headers, json={"name": name, "redirect_uris": [BOT_CALLBACK]}
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["client_secret"]
    return body


def client_credentials(client: FlaskClient, bot: dict[str, Any], **extra: str) -> Any:
    return post_token(
        client,
        {"grant_type": "client_credentials", **extra},
        headers=basic(bot["client_id"], bot["client_secret"]),
    )


def as_bot(bot: dict[str, Any]) -> dict[str, Any]:
    return {"headers": basic(bot["client_id"], bot["client_secret"])}


@pytest.fixture
def bot(client: FlaskClient, alice: Any) -> dict[str, Any]:
    """A confidential client owned by alice: `{client_id, client_secret, ...}`."""
    return create_confidential_client(client, alice)


@pytest.fixture
def all_scopes(app: Flask) -> set[str]:
    return set(app.config["OAUTH2_SCOPES"])


# --- password grant ----------------------------------------------------------------------------

PASSWORD_GRANT_SHAPES = {
    "query grant_type, Basic documentation:, multipart body": lambda user: {
        "query_string": {"grant_type": "password"},
        "headers": basic("documentation"),
        "data": {"username": user.username, "password": user.password},
        "content_type": "multipart/form-data",
    },
    "multipart body with client_id": lambda user: {
        "data": password_form(user, **PUBLIC),
        "content_type": "multipart/form-data",
    },
    "urlencoded body with client_id": lambda user: {
        "data": password_form(user, **PUBLIC),
        "content_type": "application/x-www-form-urlencoded",
    },
}


@pytest.mark.parametrize("shape", PASSWORD_GRANT_SHAPES.values(), ids=PASSWORD_GRANT_SHAPES.keys())
def test_password_grant_issues_a_bearer_token_in_every_accepted_request_shape(
    client, alice, app, all_scopes, shape
):
    response = client.post(TOKEN_URL, **shape(alice))

    body = response.get_json()
    assert response.status_code == 200, body
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == app.config["ACCESS_TOKEN_EXPIRES_IN"] == 3600
    assert body["access_token"]
    assert body["refresh_token"]
    assert set(body["scope"].split()) == all_scopes
    assert "no-store" in response.headers["Cache-Control"]
    assert_token_works(client, body["access_token"], "alice")


@pytest.mark.parametrize("secret", ["password", "client_secret", "code", "refresh_token"])
def test_a_secret_in_the_query_string_is_refused_and_nothing_is_issued(client, app, alice, secret):
    before = token_count(app)

    response = client.post(
        TOKEN_URL,
        query_string={"grant_type": "password", secret: alice.password},
        data=password_form(alice, **PUBLIC),
    )

    assert_oauth2_error(response, 400, "invalid_request")
    assert token_count(app) == before


def test_wrong_password_and_unknown_username_get_the_identical_answer(client, alice):
    wrong_password = post_token(client, {**password_form(alice, **PUBLIC), "password": "not the password"})
    unknown_user = post_token(client, {**password_form(alice, **PUBLIC), "username": "nobody-here"})

    assert_oauth2_error(wrong_password, 400, "invalid_grant")
    assert unknown_user.status_code == wrong_password.status_code
    assert unknown_user.get_json() == wrong_password.get_json()


# --- scopes ------------------------------------------------------------------------------------


def test_a_requested_scope_narrows_the_token(client, alice):
    body = password_token(client, alice.username, alice.password, scope="users:read")
    assert body["scope"] == "users:read"

    assert_token_works(client, body["access_token"], "alice")
    response = client.patch(ME_URL, headers=bearer(body["access_token"]), json={"display_name": "A."})
    assert response.status_code == 403, response.get_json()
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("scope", ["rooms:fly", "users:read rooms:fly"])
def test_an_unknown_scope_is_refused(client, alice, scope):
    response = post_token(client, password_form(alice, scope=scope, **PUBLIC))
    assert_oauth2_error(response, 400, "invalid_scope")


@pytest.fixture
def narrow_bot(client: FlaskClient, alice: Any) -> dict[str, Any]:
    """A confidential client registered for `users:read` only."""
    response = client.post(
        "/api/v1/auth/clients", headers=alice.headers, json={"name": "narrow", "scope": "users:read"}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_scope_outside_the_clients_registration_is_refused(client, app, narrow_bot):
    before = token_count(app)
    response = client_credentials(client, narrow_bot, scope="rooms:read")
    assert_oauth2_error(response, 400, "invalid_scope")
    assert token_count(app) == before


def test_a_token_never_exceeds_the_clients_registered_scope(client, narrow_bot):
    response = client_credentials(client, narrow_bot, scope="users:read rooms:read")
    if response.status_code == 200:
        assert response.get_json()["scope"] == "users:read"
    else:
        assert_oauth2_error(response, 400, "invalid_scope")
    assert client_credentials(client, narrow_bot).get_json()["scope"] == "users:read"


def test_a_token_requested_without_scope_has_every_scope(client, alice, all_scopes):
    body = password_token(client, alice.username, alice.password)
    assert set(body["scope"].split()) == all_scopes
    response = client.patch(ME_URL, headers=bearer(body["access_token"]), json={"display_name": "A."})
    assert response.status_code == 200, response.get_json()


# --- refresh_token grant -----------------------------------------------------------------------


def test_refreshing_rotates_both_tokens_and_the_new_ones_work(client, alice):
    response = refresh(client, alice.refresh_token)

    body = response.get_json()
    assert response.status_code == 200, body
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"] not in (alice.token, "")
    assert body["refresh_token"] not in (alice.refresh_token, "")
    assert "no-store" in response.headers["Cache-Control"]
    assert_token_works(client, body["access_token"], "alice")
    again = refresh(client, body["refresh_token"])
    assert again.status_code == 200, again.get_json()
    assert_token_works(client, again.get_json()["access_token"], "alice")


def test_a_refreshed_token_keeps_the_narrowed_scope(client, alice):
    first = password_token(client, alice.username, alice.password, scope="users:read")
    body = refresh(client, first["refresh_token"]).get_json()
    assert body["scope"] == "users:read"


def test_refreshing_cannot_widen_the_scope(client, alice):
    narrow = password_token(client, alice.username, alice.password, scope="users:read")
    response = refresh(
        client, narrow["refresh_token"], client_id="documentation", scope="users:read users:write"
    )
    assert_oauth2_error(response, 400, "invalid_scope")


def test_replaying_a_used_refresh_token_is_refused_and_revokes_the_whole_chain(client, alice):
    newest = refresh(client, alice.refresh_token).get_json()
    assert_token_works(client, newest["access_token"], "alice")

    replay = refresh(client, alice.refresh_token)

    assert_oauth2_error(replay, 400, "invalid_grant")
    assert_token_dead(client, newest["access_token"])
    assert_token_dead(client, alice.token)
    assert_oauth2_error(refresh(client, newest["refresh_token"]), 400, "invalid_grant")


def test_a_refresh_token_of_another_user_session_is_unaffected_by_a_replay(client, alice, bob):
    refresh(client, alice.refresh_token)
    refresh(client, alice.refresh_token)  # replay: alice's chain dies

    assert_token_works(client, bob.token, "bob")
    assert refresh(client, bob.refresh_token).status_code == 200


def test_a_refresh_token_issued_to_another_client_is_refused(client, alice, bob):
    bots_owner_client = create_confidential_client(client, bob)
    # alice's refresh token belongs to `documentation`; neither `web` nor bob's bot may use it.
    for auth in ({"client_id": "web"}, as_bot(bots_owner_client)):
        assert_oauth2_error(refresh(client, alice.refresh_token, **auth), 400, "invalid_grant")
    assert refresh(client, alice.refresh_token).status_code == 200


HOUR = 3600
THIRTY_DAYS = 30 * 24 * HOUR


@pytest.mark.parametrize(("age", "usable"), [(HOUR - 60, True), (HOUR + 1, False)])
def test_an_access_token_lives_one_hour(client, app, alice, age, usable):
    age_tokens(app, age)
    if usable:
        assert_token_works(client, alice.token, "alice")
    else:
        assert_token_dead(client, alice.token)


@pytest.mark.parametrize(("age", "usable"), [(THIRTY_DAYS - 60, True), (THIRTY_DAYS + 1, False)])
def test_a_refresh_token_lives_thirty_days(client, app, alice, age, usable):
    age_tokens(app, age)
    response = refresh(client, alice.refresh_token)
    if usable:
        assert response.status_code == 200, response.get_json()
        assert_token_works(client, response.get_json()["access_token"], "alice")
    else:
        assert_oauth2_error(response, 400, "invalid_grant")


# --- client_credentials and client authentication ----------------------------------------------


CONFIDENTIAL_AUTH_SHAPES = {
    "client_secret_basic": lambda bot: {"headers": basic(bot["client_id"], bot["client_secret"]), "data": {}},
    "client_secret_post": lambda bot: {
        "data": {"client_id": bot["client_id"], "client_secret": bot["client_secret"]}
    },
}


@pytest.mark.parametrize("auth", CONFIDENTIAL_AUTH_SHAPES.values(), ids=CONFIDENTIAL_AUTH_SHAPES.keys())
def test_client_credentials_issue_a_token_acting_as_the_clients_owner_without_refresh_token(
    client, bot, auth
):
    shape = auth(bot)
    response = client.post(
        TOKEN_URL, data={"grant_type": "client_credentials", **shape["data"]}, headers=shape.get("headers")
    )

    body = response.get_json()
    assert response.status_code == 200, body
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert "refresh_token" not in body
    assert body["scope"]
    assert "no-store" in response.headers["Cache-Control"]
    assert_token_works(client, body["access_token"], "alice")


def test_client_credentials_with_a_wrong_secret_in_basic_auth_is_401_invalid_client(client, bot):
    response = post_token(
        client, {"grant_type": "client_credentials"}, headers=basic(bot["client_id"], "wrong-secret")
    )
    assert_oauth2_error(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_client_credentials_with_a_wrong_secret_in_the_form_is_401_invalid_client(client, bot):
    response = post_token(
        client,
        {"grant_type": "client_credentials", "client_id": bot["client_id"], "client_secret": "wrong-secret"},
    )
    assert_oauth2_error(response, 401, "invalid_client")
    # A Basic challenge would open a browser's login dialog over a form post (Swagger UI's Try it out).
    assert "WWW-Authenticate" not in response.headers


@pytest.mark.parametrize(
    "auth", [{"data": PUBLIC}, {"headers": basic("documentation")}], ids=["form client_id", "Basic"]
)
def test_the_public_documentation_client_cannot_use_client_credentials(client, app, auth):
    before = token_count(app)
    response = post_token(
        client, {"grant_type": "client_credentials", **auth.get("data", {})}, headers=auth.get("headers")
    )
    assert_oauth2_error(response, (400, 401), "unauthorized_client", "invalid_client")
    assert token_count(app) == before


SECRETLESS_SHAPES = {
    "form client_id alone": lambda cid: {"data": {"client_id": cid}},
    "form with empty client_secret": lambda cid: {"data": {"client_id": cid, "client_secret": ""}},
    "Basic with empty secret": lambda cid: {"headers": basic(cid)},
    "Basic documentation: plus the confidential client_id": lambda cid: {
        "headers": basic("documentation"),
        "data": {"client_id": cid},
    },
}


@pytest.mark.parametrize("grant", ["password", "client_credentials"])
@pytest.mark.parametrize("shape", SECRETLESS_SHAPES.values(), ids=SECRETLESS_SHAPES.keys())
def test_a_confidential_client_cannot_authenticate_without_its_secret(client, app, alice, bot, grant, shape):
    auth = shape(bot["client_id"])
    data = password_form(alice) if grant == "password" else {"grant_type": grant}
    before = token_count(app)

    response = post_token(client, {**data, **auth.get("data", {})}, headers=auth.get("headers"))

    assert_oauth2_error(response, (400, 401), "invalid_client")
    assert token_count(app) == before


def test_the_web_client_cannot_use_the_password_grant(client, app, alice):
    before = token_count(app)
    response = post_token(client, password_form(alice, client_id="web"))
    assert_oauth2_error(response, 400, "unauthorized_client")
    assert token_count(app) == before


def test_a_registered_client_never_gets_the_password_grant(client, app, alice, bot):
    before = token_count(app)
    response = post_token(client, password_form(alice), headers=basic(bot["client_id"], bot["client_secret"]))
    assert_oauth2_error(response, 400, "unauthorized_client")
    assert token_count(app) == before


# --- revocation (RFC 7009) ---------------------------------------------------------------------


def revoke(client: FlaskClient, token: str, **extra: Any) -> Any:
    headers = extra.pop("headers", None)
    data = {"token": token, **(extra if headers else {**PUBLIC, **extra})}
    return client.post(REVOKE_URL, data=data, headers=headers)


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
def test_a_public_client_revokes_its_access_token(client, alice, hint):
    response = revoke(client, alice.token, **({"token_type_hint": hint} if hint else {}))

    assert response.status_code == 200, response.get_data(as_text=True)
    assert_token_dead(client, alice.token)


@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token"])
def test_revoking_a_refresh_token_kills_its_whole_chain(client, alice, hint):
    newest = refresh(client, alice.refresh_token).get_json()

    response = revoke(client, newest["refresh_token"], **({"token_type_hint": hint} if hint else {}))

    assert response.status_code == 200
    assert_token_dead(client, newest["access_token"])
    assert_token_dead(client, alice.token)
    assert_oauth2_error(refresh(client, newest["refresh_token"]), 400, "invalid_grant")


def test_revoking_a_token_leaves_the_users_other_sessions_alone(client, alice):
    other = password_token(client, alice.username, alice.password)
    assert revoke(client, alice.refresh_token).status_code == 200
    assert_token_works(client, other["access_token"], "alice")


def test_a_confidential_client_revokes_its_own_token(client, bot):
    token = client_credentials(client, bot).get_json()["access_token"]

    response = revoke(client, token, **as_bot(bot))

    assert response.status_code == 200
    assert_token_dead(client, token)


def test_a_client_cannot_revoke_a_token_issued_to_another_client(client, alice, bot):
    revoke(client, alice.token, **as_bot(bot))
    assert_token_works(client, alice.token, "alice")


def test_revoking_an_unknown_token_is_200(client, alice):
    response = revoke(client, "no-such-token")
    assert response.status_code == 200
    assert_token_works(client, alice.token, "alice")


@pytest.mark.parametrize(
    ("url", "caller"),
    [(REVOKE_URL, "documentation"), (REVOKE_URL, "bot"), (INTROSPECT_URL, "bot")],
    ids=["revoke as documentation", "revoke as bot", "introspect as bot"],
)
def test_a_token_in_the_query_string_is_refused_and_nothing_is_done(client, alice, bot, url, caller):
    if caller == "documentation":
        token, auth = alice.token, {"data": {"token": alice.token, **PUBLIC}}
    else:
        token = client_credentials(client, bot).get_json()["access_token"]
        auth = {"data": {"token": token}, **as_bot(bot)}

    response = client.post(url, query_string={"token": token}, **auth)

    body = assert_oauth2_error(response, 400, "invalid_request")
    assert "active" not in body
    assert_token_works(client, token, "alice")


# --- introspection (RFC 7662) ------------------------------------------------------------------


def introspect(client: FlaskClient, token: str, **auth: Any) -> Any:
    data = {"token": token, **auth.get("data", {})}
    return client.post(INTROSPECT_URL, data=data, headers=auth.get("headers"))


@pytest.mark.parametrize("auth", CONFIDENTIAL_AUTH_SHAPES.values(), ids=CONFIDENTIAL_AUTH_SHAPES.keys())
def test_a_confidential_client_introspects_its_own_token(client, bot, auth):
    issued = client_credentials(client, bot).get_json()

    response = introspect(client, issued["access_token"], **auth(bot))

    body = response.get_json()
    assert response.status_code == 200, body
    assert body["active"] is True
    assert body["scope"] == issued["scope"]
    assert body["client_id"] == bot["client_id"]
    assert isinstance(body["exp"], int)
    assert 0 < body["exp"] - time.time() <= 3600


def test_a_revoked_token_introspects_as_inactive(client, bot):
    token = client_credentials(client, bot).get_json()["access_token"]
    assert revoke(client, token, **as_bot(bot)).status_code == 200

    response = introspect(client, token, **as_bot(bot))

    assert response.status_code == 200
    assert response.get_json() == {"active": False}


def test_an_expired_token_introspects_as_inactive(client, app, bot):
    token = client_credentials(client, bot).get_json()["access_token"]
    age_tokens(app, HOUR + 1)

    response = introspect(client, token, **as_bot(bot))

    assert response.status_code == 200
    assert response.get_json() == {"active": False}


def test_a_used_refresh_token_introspects_as_inactive(client, alice, bot):
    first = code_tokens(client, bot, alice)
    assert refresh(client, first["refresh_token"], **as_bot(bot)).status_code == 200

    response = introspect(client, first["refresh_token"], **as_bot(bot))

    assert response.status_code == 200
    assert response.get_json() == {"active": False}


def test_a_refresh_token_introspects_as_active_while_it_can_still_be_used(client, app, alice, bot):
    session = code_tokens(client, bot, alice)
    age_tokens(app, 2 * HOUR)  # its access token has expired; the refresh token has not

    response = introspect(
        client, session["refresh_token"], data={"token_type_hint": "refresh_token"}, **as_bot(bot)
    )

    body = response.get_json()
    assert response.status_code == 200
    assert body["active"] is True, body
    assert body["exp"] > time.time()
    assert refresh(client, session["refresh_token"], **as_bot(bot)).status_code == 200


def test_an_unknown_token_introspects_as_inactive(client, bot):
    response = introspect(client, "no-such-token", **as_bot(bot))
    assert response.status_code == 200
    assert response.get_json() == {"active": False}


def test_a_token_issued_to_another_client_introspects_as_inactive(client, alice, bot):
    response = introspect(client, alice.token, **as_bot(bot))
    assert response.status_code == 200
    assert response.get_json() == {"active": False}


@pytest.mark.parametrize(
    "auth",
    [{"data": PUBLIC}, {"headers": basic("documentation")}, {}],
    ids=["documentation in form", "Basic documentation:", "no client"],
)
def test_introspection_refuses_public_and_unauthenticated_clients(client, alice, auth):
    response = introspect(client, alice.token, **auth)

    body = assert_oauth2_error(response, (400, 401), "invalid_client")
    assert "active" not in body


def test_introspection_refuses_a_confidential_client_with_a_wrong_secret(client, alice, bot):
    response = introspect(client, alice.token, headers=basic(bot["client_id"], "wrong-secret"))
    assert_oauth2_error(response, 401, "invalid_client")


# --- RFC 8414 metadata -------------------------------------------------------------------------


def test_authorization_server_metadata_names_absolute_endpoints(client):
    response = client.get("/.well-known/oauth-authorization-server")

    meta = response.get_json()
    assert response.status_code == 200
    issuer = meta["issuer"]
    assert issuer == "http://localhost"
    assert meta["token_endpoint"] == issuer + TOKEN_URL
    assert meta["revocation_endpoint"] == issuer + REVOKE_URL
    assert meta["introspection_endpoint"] == issuer + INTROSPECT_URL
    assert meta["authorization_endpoint"] == issuer + "/auth/oauth2/authorize"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert {"password", "client_credentials", "refresh_token", "authorization_code"} <= set(
        meta["grant_types_supported"]
    )
    assert "code" in meta["response_types_supported"]


# --- at rest -----------------------------------------------------------------------------------


def dump_database(app: Flask) -> list[str]:
    """Every value of every row of every table, as text."""
    cells: list[str] = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)):
                cells.extend(str(value) for value in row if value is not None)
    return cells


def test_no_token_or_client_secret_is_stored_in_plaintext(client, app, alice):
    seen = {alice.token, alice.refresh_token}
    refreshed = refresh(client, alice.refresh_token).get_json()
    seen |= {refreshed["access_token"], refreshed["refresh_token"]}
    bot = create_confidential_client(client, alice)
    seen.add(bot["client_secret"])
    issued = client_credentials(client, bot).get_json()["access_token"]
    seen.add(issued)
    assert revoke(client, refreshed["refresh_token"]).status_code == 200
    assert revoke(client, issued, **as_bot(bot)).status_code == 200

    cells = dump_database(app)

    assert len(seen) == 6
    assert any(bot["client_id"] in cell for cell in cells)  # the dump does see the tables
    leaked = [secret for secret in seen if any(secret in cell for cell in cells)]
    assert leaked == []


# --- password hashes ---------------------------------------------------------------------------


def stored_hash(app: Flask, user_id: int) -> str:
    with app.app_context():
        user = db.session.get(UserRow, user_id)
        assert user is not None and user.password_hash is not None
        return user.password_hash


def test_logging_in_upgrades_a_hash_made_with_weaker_parameters(client, app, alice):
    weak = CryptContext(
        schemes=["argon2"], argon2__type="ID", argon2__memory_cost=512, argon2__rounds=1
    ).hash(alice.password)
    with app.app_context():
        user = db.session.get(UserRow, alice.id)
        assert user is not None
        user.password_hash = weak
        db.session.commit()

    password_token(client, alice.username, alice.password)

    upgraded = stored_hash(app, alice.id)
    assert upgraded != weak
    assert upgraded.startswith("$argon2id$")
    assert f"m={app.config['ARGON2_MEMORY_COST']}," in upgraded
    assert password_token(client, alice.username, alice.password)["access_token"]


def test_logging_in_keeps_a_hash_with_current_parameters(client, app, alice):
    before = stored_hash(app, alice.id)
    password_token(client, alice.username, alice.password)
    assert stored_hash(app, alice.id) == before
