"""A logged-in connection to one Parley server: tokens on disk, refreshed before they lapse.

Tokens live in the user's config directory (`$XDG_CONFIG_HOME/parley/` or `~/.config/parley/`)
with 0600 permissions, so a second start needs no password and no other local user can read them.

It speaks HTTP with httpx rather than through the generated SDK (clients/python): every call goes
through one place that refreshes the token and retries once after a 401, where the SDK's
AuthenticatedClient holds one fixed token; and the event stream is read with httpx-sse, since the
SDK reads a stream's body as one string.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from httpx_sse import ServerSentEvent, connect_sse

# The server's built-in public client that may use the password grant (and refresh its tokens).
CLIENT_ID = "documentation"
# Refresh this many seconds before the access token's announced expiry, so no request races it.
REFRESH_MARGIN = 30


class LoginError(Exception):
    """The server refused the username and password (or the refresh token is dead)."""


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "parley"


def invite_code(link: str) -> str:
    """The code of an invite link (`…/#/invites/<code>`), or the code itself."""
    return urlsplit(link.strip()).fragment.rsplit("/", 1)[-1] or link.strip().rsplit("/", 1)[-1]


class Session:
    """Talks to the API as one user; every request refreshes the token first when it is due."""

    def __init__(self, server: str, tokens: dict[str, Any] | None = None) -> None:
        self.server = server.rstrip("/")
        self.tokens: dict[str, Any] = tokens or {}
        self.http = httpx.Client(base_url=self.server, timeout=30)
        self.stream_socket: socket.socket | None = None

    @property
    def path(self) -> Path:
        return config_dir() / "tokens.json"

    @classmethod
    def saved(cls) -> Session | None:
        """The session saved by the last login, if any."""
        path = config_dir() / "tokens.json"
        if not path.exists():
            return None
        stored = json.loads(path.read_text())
        return cls(stored["server"], stored["tokens"])

    def _save(self, tokens: dict[str, Any]) -> None:
        tokens["expires_at"] = time.time() + int(tokens.get("expires_in", 3600))
        self.tokens = tokens
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Created with 0600 from the start: never readable by others, not even for a moment.
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump({"server": self.server, "tokens": tokens}, file)
        os.chmod(self.path, 0o600)

    def _grant(self, **form: str) -> None:
        response = self.http.post("/auth/oauth2/token", data={"client_id": CLIENT_ID, **form})
        if response.status_code != 200:
            raise LoginError(response.json().get("error_description", "login failed"))
        self._save(response.json())

    def login(self, username: str, password: str) -> None:
        self._grant(grant_type="password", username=username, password=password)

    def refresh(self) -> None:
        self._grant(grant_type="refresh_token", refresh_token=self.tokens.get("refresh_token", ""))

    def access_token(self) -> str:
        if time.time() > self.tokens.get("expires_at", 0) - REFRESH_MARGIN:
            self.refresh()
        return str(self.tokens["access_token"])

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One API call; a 401 (a token revoked or expired early) gets one refresh and one retry."""
        response = self.http.request(method, path, headers=self._auth(), **kwargs)
        if response.status_code == 401:
            self.refresh()
            response = self.http.request(method, path, headers=self._auth(), **kwargs)
        return response

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token()}"}

    def me(self) -> dict[str, Any]:
        return dict(self.request("GET", "/api/v1/users/me").json())

    def rooms(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/api/v1/rooms", params={"page_size": 100}).json())

    def history(self, room_id: int, limit: int = 50) -> list[dict[str, Any]]:
        return list(self.request("GET", f"/api/v1/rooms/{room_id}/messages", params={"limit": limit}).json())

    def send(self, room_id: int, body: str, parent_id: int | None = None) -> httpx.Response:
        payload: dict[str, Any] = {"body": body}
        if parent_id is not None:
            payload["parent_id"] = parent_id
        return self.request("POST", f"/api/v1/rooms/{room_id}/messages", json=payload)

    def mark_read(self, room_id: int, message_id: int) -> None:
        self.request("PUT", f"/api/v1/rooms/{room_id}/read", json={"message_id": message_id})

    def direct(self, username: str) -> httpx.Response:
        return self.request("POST", "/api/v1/rooms/direct", json={"username": username})

    def accept_invite(self, link: str) -> httpx.Response:
        return self.request("POST", f"/api/v1/invites/{invite_code(link)}/accept")

    def events(self, last_event_id: str | None) -> Iterator[ServerSentEvent]:
        """The event stream from just after `last_event_id`: the server replays what was missed."""
        headers = self._auth()
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        with (
            httpx.Client(base_url=self.server, timeout=httpx.Timeout(30, read=60)) as http,
            connect_sse(http, "GET", "/api/v1/events", headers=headers) as source,
        ):
            if source.response.status_code == 401:
                self.refresh()
                return
            source.response.raise_for_status()
            self.stream_socket = source.response.extensions["network_stream"].get_extra_info("socket")
            try:
                yield from source.iter_sse()
            finally:
                self.stream_socket = None

    def close_stream(self) -> None:
        """End the event stream being read, from another thread: at exit, or to drop the connection.

        Closing the client would not wake a read blocked until the next keep-alive (15 s); shutting
        the socket down does, at once.
        """
        stream_socket = self.stream_socket
        if stream_socket is not None:
            with contextlib.suppress(OSError):
                stream_socket.shutdown(socket.SHUT_RDWR)
