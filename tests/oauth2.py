"""The authorization-code flow of a registered confidential client, driven by Flask's test client.

A user signs in on the consent page and allows; the client trades the code for tokens.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient

from tests.conftest import basic

BOT_CALLBACK = "https://bot.example/callback"


def consent(client: FlaskClient, client_id: str, user: Any, **params: str) -> str:
    """The code `user` gives `client_id` by allowing on the consent page."""
    form = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": BOT_CALLBACK,
        "username": user.username,
        "password": user.password,
        "decision": "allow",
        **params,
    }
    response = client.post("/auth/oauth2/authorize", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


def exchange(client: FlaskClient, registered: dict[str, Any], code: str) -> Any:
    """The confidential client's token request for `code`."""
    return client.post(
        "/auth/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": BOT_CALLBACK},
        headers=basic(registered["client_id"], registered["client_secret"]),
    )


def code_tokens(client: FlaskClient, registered: dict[str, Any], user: Any) -> dict[str, Any]:
    """Tokens of `user` issued to the registered client through the authorization-code flow."""
    response = exchange(client, registered, consent(client, registered["client_id"], user))
    assert response.status_code == 200, response.get_json()
    return response.get_json()
