"""/api/v1/auth/clients: a user's own OAuth2 clients."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from .conftest import basic, bearer
from .oauth2 import BOT_CALLBACK, code_tokens

CLIENTS = "/api/v1/auth/clients"
SCOPES = "users:read users:write rooms:read rooms:write messages:read messages:write auth:read auth:write"
CLIENT_FIELDS = {"client_id", "name", "confidential", "redirect_uris", "scope", "created_at"}


def create(client: FlaskClient, user: Any, **body: Any) -> dict[str, Any]:
    response = client.post(CLIENTS, json={"name": "my bot", **body}, headers=user.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def client_credentials_token(client: FlaskClient, client_id: str, secret: str) -> dict[str, Any]:
    response = client.post(
        "/auth/oauth2/token", data={"grant_type": "client_credentials"}, headers=basic(client_id, secret)
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def without(scope: str) -> str:
    return " ".join(s for s in SCOPES.split() if s != scope)


# --- creating ------------------------------------------------------------------------------------


def test_creating_a_confidential_client_shows_its_secret_once(client: FlaskClient, alice: Any) -> None:
    response = client.post(
        CLIENTS,
        json={
            "name": "bot",
            "redirect_uris": ["https://bot.example/cb"],
            "scope": "rooms:read messages:write",
        },
        headers=alice.headers,
    )

    assert response.status_code == 201
    created = response.get_json()
    assert CLIENT_FIELDS | {"client_secret"} <= set(created)
    assert created["name"] == "bot"
    assert created["confidential"] is True  # the default
    assert created["redirect_uris"] == ["https://bot.example/cb"]
    assert created["scope"] == "rooms:read messages:write"
    assert created["client_secret"]
    assert response.headers["Location"].endswith(f"{CLIENTS}/{created['client_id']}")

    shown = client.get(response.headers["Location"], headers=alice.headers)
    assert shown.status_code == 200
    listed = client.get(CLIENTS, headers=alice.headers).get_json()
    for body in (shown.get_json(), *listed):
        assert "client_secret" not in body
        assert created["client_secret"] not in str(body)
    assert {k: v for k, v in created.items() if k != "client_secret"}.items() <= shown.get_json().items()


def test_the_secret_shown_on_creation_authenticates_the_client(client: FlaskClient, alice: Any) -> None:
    created = create(client, alice, scope="users:read")

    token = client_credentials_token(client, created["client_id"], created["client_secret"])

    assert token["scope"] == "users:read"
    assert client.get("/api/v1/users/me", headers=bearer(token["access_token"])).get_json()["id"] == alice.id


def test_creating_a_public_client_gives_no_secret(client: FlaskClient, alice: Any) -> None:
    created = create(
        client, alice, name="cli", confidential=False, redirect_uris=["http://127.0.0.1:9999/cb"]
    )

    assert created["confidential"] is False
    assert created["client_secret"] is None
    assert created["scope"] == SCOPES  # the registering token's scopes when none are asked for


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"confidential": False}, "name", id="missing-name"),
        pytest.param({"name": ""}, "name", id="empty-name"),
        pytest.param({"name": "bot", "scope": "nope:read"}, "scope", id="unknown-scope"),
        pytest.param({"name": "bot", "scope": "users:read nope:read"}, "scope", id="one-unknown-scope"),
        pytest.param({"name": "bot", "redirect_uris": ["not a url"]}, "redirect_uris", id="bad-redirect-uri"),
        pytest.param(
            {"name": "bot", "redirect_uris": ["javascript:alert(1)"]},
            "redirect_uris",
            id="script-redirect-uri",
        ),
        pytest.param({"name": "bot", "colour": "blue"}, "colour", id="unknown-field"),
    ],
)
def test_an_invalid_client_is_a_422_naming_the_field(
    client: FlaskClient, alice: Any, body: dict[str, Any], field: str
) -> None:
    response = client.post(CLIENTS, json=body, headers=alice.headers)

    assert response.status_code == 422
    error = response.get_json()
    assert error["code"] == 422
    assert error["message"]
    assert list(error["errors"]["json"]) == [field]
    assert client.get(CLIENTS, headers=alice.headers).get_json() == []


@pytest.mark.parametrize(
    "uri",
    [
        "https://bot.example/callback",
        "http://127.0.0.1:9999/cb",
        "http://127.8.9.10/cb",
        "http://[::1]:8000/cb",
        "http://localhost:3000/cb",
    ],
)
def test_redirect_uris_are_https_or_plain_http_to_a_loopback_address(
    client: FlaskClient, alice: Any, uri: str
) -> None:
    assert create(client, alice, redirect_uris=[uri])["redirect_uris"] == [uri]


@pytest.mark.parametrize(
    "uri",
    [
        "http://bot.example/callback",
        "http://10.0.0.1/cb",
        "http://localhost.bot.example/cb",
        "http://127.0.0.1.nip.io/cb",
        "https://bot.example/callback#frag",
        "http://127.0.0.1:9999/cb#",
    ],
)
def test_a_plain_http_or_fragment_redirect_uri_is_a_422(client: FlaskClient, alice: Any, uri: str) -> None:
    response = client.post(
        CLIENTS, json={"name": "bot", "redirect_uris": ["https://ok.example/cb", uri]}, headers=alice.headers
    )

    assert response.status_code == 422
    assert list(response.get_json()["errors"]["json"]) == ["redirect_uris"]
    assert client.get(CLIENTS, headers=alice.headers).get_json() == []


@pytest.mark.parametrize(
    "name",
    ["Parley", "parley web client", "PARLEY Security Team", "Parley-Admin", " Swagger  UI", "swagger ui"],
)
def test_a_name_that_could_pass_for_a_built_in_client_is_a_422(
    client: FlaskClient, alice: Any, name: str
) -> None:
    response = client.post(CLIENTS, json={"name": name}, headers=alice.headers)

    assert response.status_code == 422
    assert list(response.get_json()["errors"]["json"]) == ["name"]
    assert client.get(CLIENTS, headers=alice.headers).get_json() == []


def test_a_name_merely_mentioning_parley_is_fine(client: FlaskClient, alice: Any) -> None:
    assert create(client, alice, name="Alice's Parley bot")["name"] == "Alice's Parley bot"


@pytest.mark.parametrize("confidential", [True, False])
def test_a_registered_client_never_gets_the_password_grant(
    client: FlaskClient, alice: Any, confidential: bool
) -> None:
    created = create(client, alice, confidential=confidential, redirect_uris=[BOT_CALLBACK])

    assert "password" not in created["grant_types"]
    auth = basic(created["client_id"], created["client_secret"] or "")
    response = client.post(
        "/auth/oauth2/token",
        data={"grant_type": "password", "username": alice.username, "password": alice.password},
        headers=auth,
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "unauthorized_client"


# --- a client holds no more than the token that registered it ------------------------------------


def test_a_client_registered_without_scope_gets_the_registering_tokens_scope(
    client: FlaskClient, alice: Any
) -> None:
    narrow = bearer(alice.token_with("auth:write"))
    created = client.post(CLIENTS, json={"name": "bot"}, headers=narrow).get_json()

    assert created["scope"] == "auth:write"
    token = client_credentials_token(client, created["client_id"], created["client_secret"])
    assert token["scope"] == "auth:write"
    assert client.get("/api/v1/users/me", headers=bearer(token["access_token"])).status_code == 403
    assert client.get("/api/v1/rooms", headers=bearer(token["access_token"])).status_code == 403


@pytest.mark.parametrize("scope", ["users:read", "auth:write users:read", SCOPES])
def test_a_client_cannot_be_registered_for_more_than_the_registering_token_holds(
    client: FlaskClient, alice: Any, scope: str
) -> None:
    narrow = bearer(alice.token_with("auth:read auth:write"))

    response = client.post(CLIENTS, json={"name": "bot", "scope": scope}, headers=narrow)

    assert response.status_code == 422
    assert list(response.get_json()["errors"]["json"]) == ["scope"]
    assert client.get(CLIENTS, headers=alice.headers).get_json() == []


def test_a_client_credentials_request_beyond_the_clients_scope_is_invalid_scope(
    client: FlaskClient, alice: Any
) -> None:
    created = client.post(
        CLIENTS, json={"name": "bot"}, headers=bearer(alice.token_with("auth:write rooms:read"))
    ).get_json()

    response = client.post(
        "/auth/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "rooms:read users:read"},
        headers=basic(created["client_id"], created["client_secret"]),
    )

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_scope"


def test_client_credentials_tokens_die_with_the_owners_account(client: FlaskClient, alice: Any) -> None:
    created = create(client, alice)
    token = client_credentials_token(client, created["client_id"], created["client_secret"])["access_token"]

    deleted = client.delete(
        "/api/v1/users/me", json={"current_password": alice.password}, headers=alice.headers
    )

    assert deleted.status_code == 204
    assert client.get("/api/v1/users/me", headers=bearer(token)).status_code == 401
    again = client.post(
        "/auth/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers=basic(created["client_id"], created["client_secret"]),
    )
    assert again.status_code == 401


# --- reading and deleting ------------------------------------------------------------------------


def test_the_list_shows_only_your_own_clients(client: FlaskClient, alice: Any, bob: Any) -> None:
    alices = [create(client, alice, name=name)["client_id"] for name in ("one", "two")]
    bobs = create(client, bob, name="three")["client_id"]

    assert [c["client_id"] for c in client.get(CLIENTS, headers=alice.headers).get_json()] == alices
    assert [c["client_id"] for c in client.get(CLIENTS, headers=bob.headers).get_json()] == [bobs]


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_another_users_client_does_not_exist_for_you(
    client: FlaskClient, alice: Any, bob: Any, method: str
) -> None:
    client_id = create(client, alice)["client_id"]

    response = client.open(f"{CLIENTS}/{client_id}", method=method, headers=bob.headers)

    assert response.status_code == 404
    assert response.get_json()["code"] == 404
    assert client.get(f"{CLIENTS}/{client_id}", headers=alice.headers).status_code == 200


@pytest.mark.parametrize("client_id", ["no-such-client", "documentation", "web"])
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_an_unknown_or_built_in_client_is_not_found(
    client: FlaskClient, alice: Any, method: str, client_id: str
) -> None:
    response = client.open(f"{CLIENTS}/{client_id}", method=method, headers=alice.headers)

    assert response.status_code == 404
    assert response.get_json()["code"] == 404


def test_deleting_a_client_ends_the_tokens_it_was_issued(client: FlaskClient, alice: Any) -> None:
    created = create(client, alice, redirect_uris=[BOT_CALLBACK])
    client_id, secret = created["client_id"], created["client_secret"]
    machine = client_credentials_token(client, client_id, secret)
    consented = code_tokens(client, created, alice)
    tokens = [machine["access_token"], consented["access_token"]]
    assert all(client.get("/api/v1/users/me", headers=bearer(t)).status_code == 200 for t in tokens)

    response = client.delete(f"{CLIENTS}/{client_id}", headers=alice.headers)

    assert response.status_code == 204
    assert response.get_data() == b""
    for token in tokens:
        me = client.get("/api/v1/users/me", headers=bearer(token))
        assert me.status_code == 401
        assert 'error="invalid_token"' in me.headers["WWW-Authenticate"]
    refreshed = client.post(
        "/auth/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": consented["refresh_token"]},
        headers=basic(client_id, secret),
    )
    assert refreshed.status_code == 401
    assert refreshed.get_json()["error"] == "invalid_client"
    assert client.get(f"{CLIENTS}/{client_id}", headers=alice.headers).status_code == 404
    assert client.get(CLIENTS, headers=alice.headers).get_json() == []
    # tokens of other clients are untouched
    assert client.get("/api/v1/users/me", headers=alice.headers).status_code == 200


# --- who may call --------------------------------------------------------------------------------

OPERATIONS = [
    pytest.param("GET", CLIENTS, "auth:read", id="list"),
    pytest.param("POST", CLIENTS, "auth:write", id="create"),
    pytest.param("GET", f"{CLIENTS}/{{client_id}}", "auth:read", id="get"),
    pytest.param("DELETE", f"{CLIENTS}/{{client_id}}", "auth:write", id="delete"),
]


@pytest.fixture
def alices_client_id(client: FlaskClient, alice: Any) -> str:
    return create(client, alice)["client_id"]


@pytest.mark.parametrize(("method", "path", "scope"), OPERATIONS)
def test_without_a_token_is_401(
    client: FlaskClient, alices_client_id: str, method: str, path: str, scope: str
) -> None:
    response = client.open(path.format(client_id=alices_client_id), method=method, json={"name": "bot"})

    assert response.status_code == 401
    assert response.get_json()["code"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "scope"), OPERATIONS)
@pytest.mark.parametrize("body", [{"name": "bot"}, {"colour": "blue"}], ids=["valid-body", "invalid-body"])
def test_a_token_lacking_the_scope_is_403(
    client: FlaskClient,
    alice: Any,
    alices_client_id: str,
    method: str,
    path: str,
    scope: str,
    body: dict[str, Any],
) -> None:
    token = alice.token_with(without(scope))

    response = client.open(
        path.format(client_id=alices_client_id), method=method, json=body, headers=bearer(token)
    )

    assert response.status_code == 403
    assert response.get_json()["code"] == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert client.get(f"{CLIENTS}/{alices_client_id}", headers=alice.headers).status_code == 200
    assert len(client.get(CLIENTS, headers=alice.headers).get_json()) == 1
