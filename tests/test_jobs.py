"""Periodic jobs: what the credential purge deletes, and what it must keep."""

from sqlalchemy import func, select

from app.extensions import db
from app.extensions.jobs import run_all
from app.modules.auth.models import OAuth2Token
from tests.conftest import PASSWORD, age_tokens, password_token

DAY = 24 * 3600


def refresh(client, refresh_token):
    return client.post(
        "/auth/oauth2/token",
        data={"grant_type": "refresh_token", "client_id": "documentation", "refresh_token": refresh_token},
    )


def purge(app):
    with app.app_context():
        return run_all()["auth.purge_dead_credentials"]


def token_rows(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OAuth2Token))


def test_purge_keeps_tokens_that_still_work(app, client, alice):
    assert purge(app) == 0
    assert client.get("/api/v1/users/me", headers=alice.headers).status_code == 200


def test_purge_keeps_a_retired_refresh_token_so_its_replay_is_still_caught(app, client, alice):
    rotated = refresh(client, alice.refresh_token).get_json()
    age_tokens(app, 2 * 3600)  # every access token has expired; refresh tokens have not
    assert purge(app) == 0
    assert refresh(client, alice.refresh_token).status_code == 400  # the replay
    assert refresh(client, rotated["refresh_token"]).status_code == 400  # ... revoked the chain


def test_purge_deletes_tokens_whose_access_and_refresh_have_both_expired(app, client, alice):
    password_token(client, alice.username, PASSWORD)
    assert token_rows(app) == 2
    age_tokens(app, 31 * DAY)
    assert purge(app) == 2
    assert token_rows(app) == 0


def test_purge_deletes_a_revoked_access_token_without_a_refresh_token(app, client, alice):
    bot = client.post("/api/v1/auth/clients", json={"name": "bot"}, headers=alice.headers).get_json()
    issued = client.post(
        "/auth/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(bot["client_id"], bot["client_secret"]),
    ).get_json()
    client.post(
        "/auth/oauth2/revoke",
        data={"token": issued["access_token"]},
        auth=(bot["client_id"], bot["client_secret"]),
    )
    assert purge(app) == 1
    assert client.get("/api/v1/users/me", headers=alice.headers).status_code == 200
