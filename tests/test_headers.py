"""Headers every answer carries, answers that must never be stored, and URLs the Host header
cannot choose."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.extensions import db
from app.extensions.ratelimit import limiter
from tests.assertions import assert_error
from tests.conftest import PASSWORD
from tests.rooms import create_room_id

PUBLIC_URL = "https://chat.example.com"
EVIL_HOST = {"Host": "evil.example"}

# One of each kind of answer: API, OAuth2, HTML pages, Swagger UI, static assets, errors.
ANSWERS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "API": ("GET", "/api/v1/users/me", {"authorized": True}),
    "OAuth2 token error": ("POST", "/auth/oauth2/token", {"data": {"grant_type": "password"}}),
    "OAuth2 metadata": ("GET", "/.well-known/oauth-authorization-server", {}),
    "authorize page": ("GET", "/auth/oauth2/authorize?client_id=web&response_type=code", {}),
    "sign-up page": ("GET", "/auth/signup", {}),
    "Swagger UI": ("GET", "/api/v1/docs", {}),
    "OpenAPI document": ("GET", "/api/v1/openapi.json", {}),
    "Swagger UI asset": ("GET", "/api/v1/docs/assets/swagger-ui.css", {}),
    "health": ("GET", "/healthz", {}),
    "401": ("GET", "/api/v1/users/me", {}),
    "404": ("GET", "/no/such/page", {}),
    "405": ("DELETE", "/api/v1/users", {}),
    "422": ("POST", "/api/v1/users", {"json": {"username": "x"}}),
}


def request(client: FlaskClient, user: Any, method: str, path: str, options: dict[str, Any]) -> Any:
    options = dict(options)
    if options.pop("authorized", False):
        options["headers"] = user.headers
    return client.open(path, method=method, **options)


@pytest.mark.parametrize("kind", ANSWERS)
def test_every_answer_forbids_sniffing_referrers_and_framing(client, alice, kind):
    response = request(client, alice, *ANSWERS[kind])
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_the_swagger_ui_page_may_not_be_framed(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_static_assets_keep_their_own_caching(client):
    response = client.get("/api/v1/docs/assets/swagger-ui.css")
    assert "max-age" in response.headers["Cache-Control"]


# --- answers carrying a secret ----------------------------------------------------------------


SECRETS: dict[str, Callable[[FlaskClient, Any], Any]] = {
    "access and refresh token": lambda client, user: client.post(
        "/auth/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": "documentation",
            "username": user.username,
            "password": PASSWORD,
        },
    ),
    "client secret": lambda client, user: client.post(
        "/api/v1/auth/clients", headers=user.headers, json={"name": "bot", "confidential": True}
    ),
    "stream ticket": lambda client, user: client.post("/api/v1/events/ticket", headers=user.headers),
    "invite code": lambda client, user: client.post(
        f"/api/v1/rooms/{create_room_id(client, user)}/invites", headers=user.headers, json={}
    ),
}


@pytest.mark.parametrize("secret", SECRETS)
def test_an_answer_carrying_a_secret_is_never_stored(client, alice, secret):
    response = SECRETS[secret](client, alice)
    assert response.status_code in (200, 201), response.get_json()
    assert response.headers["Cache-Control"] == "no-store"


# --- TLS ----------------------------------------------------------------------------------------


def test_hsts_is_sent_over_tls_only(client):
    assert client.get("/healthz").headers.get("Strict-Transport-Security") is None
    secure = client.get("/healthz", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_x_forwarded_proto_counts_only_from_a_trusted_proxy(app, client):
    assert app.config["PROXY_FIX_HOPS"] == 0
    answer = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in answer.headers


@contextlib.contextmanager
def separate_app(config_name: str = "testing", **settings: Any) -> Iterator[Flask]:
    """An app beside the session's. Each one re-binds the limiter singleton (its `enabled`
    flag): restore that, or the session app would be rate-limited from here on."""
    was_enabled = limiter.enabled
    separate = create_app(config_name, **settings)
    try:
        yield separate
    finally:
        limiter.enabled = was_enabled
        with separate.app_context():
            db.engine.dispose()


@pytest.fixture
def behind_proxy(app: Flask) -> Iterator[FlaskClient]:
    """The app as PARLEY_PROXY_HOPS=1 configures it, on the session's database."""
    with separate_app(
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], PROXY_FIX_HOPS=1
    ) as proxied:
        yield proxied.test_client()


def test_hsts_is_sent_behind_a_tls_terminating_proxy(behind_proxy):
    answer = behind_proxy.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in behind_proxy.get("/healthz").headers


# --- Retry-After ------------------------------------------------------------------------------


@pytest.fixture
def limited_client(app: Flask) -> Iterator[FlaskClient]:
    """Rate limiting on: one token request a minute."""
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    with separate_app(
        SQLALCHEMY_DATABASE_URI=database, RATELIMIT_ENABLED=True, TOKEN_RATE_LIMIT="1/minute"
    ) as limited:
        limiter.reset()  # counters other tests left in a shared (Redis) storage
        yield limited.test_client()


def test_retry_after_comes_with_429_only_while_rate_limit_headers_stay(limited_client, alice):
    form = {"grant_type": "password", "client_id": "documentation", "username": "alice", "password": PASSWORD}
    granted = limited_client.post("/auth/oauth2/token", data=form)
    assert granted.status_code == 200
    assert granted.headers["X-RateLimit-Limit"] == "1"
    assert "Retry-After" not in granted.headers
    refused = limited_client.post("/auth/oauth2/token", data=form)
    assert_error(refused, 429)
    assert 0 < int(refused.headers["Retry-After"]) <= 60


# --- the public URL -----------------------------------------------------------------------------


def test_the_issuer_and_endpoints_come_from_the_public_url_not_the_host_header(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", PUBLIC_URL)
    metadata = client.get("/.well-known/oauth-authorization-server", headers=EVIL_HOST).get_json()
    assert metadata["issuer"] == PUBLIC_URL
    assert metadata["token_endpoint"] == PUBLIC_URL + "/auth/oauth2/token"
    assert metadata["authorization_endpoint"] == PUBLIC_URL + "/auth/oauth2/authorize"
    assert "evil" not in str(metadata)


def test_an_invite_url_comes_from_the_public_url_not_the_host_header(app, client, alice, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", PUBLIC_URL)
    room = create_room_id(client, alice)
    response = client.post(f"/api/v1/rooms/{room}/invites", headers={**alice.headers, **EVIL_HOST}, json={})
    assert response.status_code == 201, response.get_json()
    invite = response.get_json()
    assert invite["url"] == f"{PUBLIC_URL}/#/invites/{invite['code']}"


def test_with_trusted_hosts_another_host_is_a_400(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["chat.example.com"])
    assert_error(client.get("/.well-known/oauth-authorization-server", headers=EVIL_HOST), 400)
    trusted = client.get("/.well-known/oauth-authorization-server", headers={"Host": "chat.example.com"})
    assert trusted.get_json()["issuer"] == "http://chat.example.com"


PRODUCTION = {"SECRET_KEY": "s" * 32, "SQLALCHEMY_DATABASE_URI": "sqlite:////tmp/prod.db"}


def production_app(**settings: Any) -> Flask:
    with separate_app("production", **PRODUCTION, **settings) as production:
        return production


def test_production_refuses_to_start_without_a_public_url_or_trusted_hosts():
    with pytest.raises(RuntimeError, match="PARLEY_PUBLIC_URL"):
        production_app(PUBLIC_URL=None, TRUSTED_HOSTS=None)


@pytest.mark.parametrize("settings", [{"PUBLIC_URL": PUBLIC_URL}, {"TRUSTED_HOSTS": ["chat.example.com"]}])
def test_production_starts_with_a_public_url_or_trusted_hosts(settings):
    assert (
        production_app(**{"PUBLIC_URL": None, "TRUSTED_HOSTS": None, **settings}).config["ENV_NAME"]
        == "production"
    )


@pytest.mark.parametrize(
    "url", ["chat.example.com", "ftp://chat.example.com", "https://chat.example.com/app"]
)
def test_a_public_url_that_is_not_a_scheme_and_host_is_refused(url):
    with pytest.raises(RuntimeError, match="PARLEY_PUBLIC_URL"):
        production_app(PUBLIC_URL=url)
