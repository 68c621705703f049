"""Use-once credentials presented at the same moment: exactly one redemption wins.

Real concurrent requests (threads released together against a live server), on the
engine of the run: SQLite, or PostgreSQL in the PostgreSQL pass.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, bearer, password_token
from tests.oauth2 import BOT_CALLBACK, consent, exchange

TOKEN_PATH = "/auth/oauth2/token"
RACERS = 8


def all_at_once(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Each of `calls` made on its own thread, all released together; their answers in order."""
    barrier = threading.Barrier(len(calls))

    def racer(call: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(racer, calls))


def split(responses: list[requests.Response]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(bodies of the successes, bodies of the failures); every failure must be invalid_grant."""
    won = [r.json() for r in responses if r.status_code == 200]
    lost = [r.json() for r in responses if r.status_code != 200]
    assert all(r.status_code == 400 for r in responses if r.status_code != 200), [r.text for r in responses]
    assert {body["error"] for body in lost} <= {"invalid_grant"}, lost
    return won, lost


def assert_dead(client: FlaskClient, access_token: str) -> None:
    assert client.get("/api/v1/users/me", headers=bearer(access_token)).status_code == 401


def change_password_of(live_server: str, user: Any) -> requests.Response:
    return requests.patch(
        live_server + "/api/v1/users/me",
        json={"password": "a brand new passphrase", "current_password": PASSWORD},
        headers=bearer(user.token),
        timeout=30,
    )


@pytest.fixture
def bot(client: FlaskClient, alice: Any) -> dict[str, Any]:
    """A confidential client of alice's, redirecting to BOT_CALLBACK."""
    response = client.post(
        "/api/v1/auth/clients", json={"name": "bot", "redirect_uris": [BOT_CALLBACK]}, headers=alice.headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("earlier_refreshes", [0, 2], ids=["first-token", "third-of-a-chain"])
def test_concurrent_refreshes_of_one_token_let_exactly_one_through_and_revoke_the_chain(
    client: FlaskClient, live_server: str, alice: Any, earlier_refreshes: int
) -> None:
    """Racing replays each revoke the chain: on PostgreSQL they once deadlocked (503) when
    they locked its rows in different orders, most often when the raced token was not the
    chain's first."""
    form = {"grant_type": "refresh_token", "refresh_token": alice.refresh_token, "client_id": "documentation"}
    for _ in range(earlier_refreshes):
        refreshed = client.post(TOKEN_PATH, data=form)
        assert refreshed.status_code == 200, refreshed.get_json()
        form["refresh_token"] = refreshed.get_json()["refresh_token"]

    def redeem() -> requests.Response:
        return requests.post(live_server + TOKEN_PATH, data=form, timeout=30)

    won, lost = split(all_at_once([redeem] * RACERS))

    assert len(won) == 1
    assert len(lost) == RACERS - 1
    assert_dead(client, won[0]["access_token"])  # the others were replays: the chain ended
    again = client.post(TOKEN_PATH, data={**form, "refresh_token": won[0]["refresh_token"]})
    assert again.status_code == 400


def test_concurrent_redemptions_of_one_code_issue_exactly_one_token_pair_then_revoke_it(
    client: FlaskClient, live_server: str, alice: Any, bot: dict[str, Any]
) -> None:
    code = consent(client, bot["client_id"], alice)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": BOT_CALLBACK}
    auth = (bot["client_id"], bot["client_secret"])

    def redeem() -> requests.Response:
        return requests.post(live_server + TOKEN_PATH, data=form, auth=auth, timeout=30)

    won, lost = split(all_at_once([redeem] * RACERS))

    assert len(won) == 1
    assert len(lost) == RACERS - 1
    assert_dead(client, won[0]["access_token"])
    refreshed = client.post(
        TOKEN_PATH,
        data={"grant_type": "refresh_token", "refresh_token": won[0]["refresh_token"]},
        auth=auth,
    )
    assert refreshed.status_code == 400


def test_a_replayed_code_revokes_the_tokens_it_bought_and_their_refreshes(
    client: FlaskClient, alice: Any, bot: dict[str, Any]
) -> None:
    code = consent(client, bot["client_id"], alice)
    first = exchange(client, bot, code).get_json()
    refreshed = client.post(
        TOKEN_PATH,
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=(bot["client_id"], bot["client_secret"]),
    ).get_json()
    assert client.get("/api/v1/users/me", headers=bearer(refreshed["access_token"])).status_code == 200

    replay = exchange(client, bot, code)

    assert replay.status_code == 400
    assert replay.get_json()["error"] == "invalid_grant"
    assert_dead(client, first["access_token"])
    assert_dead(client, refreshed["access_token"])
    assert client.get("/api/v1/users/me", headers=alice.headers).status_code == 200  # other sessions live


def test_a_code_stays_good_when_its_first_redemption_fails_before_use(
    client: FlaskClient, alice: Any, bot: dict[str, Any]
) -> None:
    code = consent(client, bot["client_id"], alice)
    wrong_redirect = client.post(
        TOKEN_PATH,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": BOT_CALLBACK + "/other"},
        auth=(bot["client_id"], bot["client_secret"]),
    )
    assert wrong_redirect.status_code == 400

    assert exchange(client, bot, code).status_code == 200


def test_no_session_refreshed_during_a_password_change_survives_it(
    client: FlaskClient, live_server: str, alice: Any
) -> None:
    others = [password_token(client, "alice", PASSWORD)["refresh_token"] for _ in range(RACERS - 1)]

    change_password = functools.partial(change_password_of, live_server, alice)

    def refresher(refresh_token: str) -> Callable[[], requests.Response]:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": "documentation"}
        return lambda: requests.post(live_server + TOKEN_PATH, data=form, timeout=30)

    changed, *refreshed = all_at_once([change_password, *map(refresher, others)])

    assert changed.status_code == 200, changed.text
    for response in refreshed:
        if response.status_code == 200:
            assert_dead(client, response.json()["access_token"])
    assert client.get("/api/v1/users/me", headers=alice.headers).status_code == 200


def test_no_code_given_during_a_password_change_buys_a_live_token(
    client: FlaskClient, live_server: str, alice: Any, bot: dict[str, Any]
) -> None:
    change_password = functools.partial(change_password_of, live_server, alice)

    def consent_with_old_password() -> requests.Response:
        form = {
            "response_type": "code",
            "client_id": bot["client_id"],
            "redirect_uri": BOT_CALLBACK,
            "username": "alice",
            "password": PASSWORD,
            "decision": "allow",
        }
        url = live_server + "/auth/oauth2/authorize"
        return requests.post(url, data=form, allow_redirects=False, timeout=30)

    changed, *consents = all_at_once([change_password] + [consent_with_old_password] * (RACERS - 1))

    assert changed.status_code == 200, changed.text
    codes = [parse_qs(urlsplit(r.headers["Location"]).query)["code"][0] for r in consents if r.is_redirect]
    for code in codes:
        issued = exchange(client, bot, code)
        if issued.status_code == 200:
            assert_dead(client, issued.get_json()["access_token"])
        else:
            assert issued.get_json()["error"] == "invalid_grant"
