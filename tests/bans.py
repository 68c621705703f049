"""Banning a user as the API does it: distinct reporters reaching the threshold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient


def ban(app: Flask, client: FlaskClient, make_user: Callable[..., Any], user: Any) -> None:
    """File reports against `user` from as many new users as the threshold takes."""
    for number in range(app.config["REPORT_BAN_THRESHOLD"]):
        reporter = make_user(f"reporter{number}")
        response = client.post(
            f"/api/v1/users/{user.id}/reports", json={"reason": "spam"}, headers=reporter.headers
        )
        assert response.status_code == 201, response.get_json()
    assert client.get("/api/v1/users/me", headers=user.headers).get_json()["banned_until"]
