"""A logged-in connection to one Parley server, through the SDK: tokens on disk, refreshed in one place.

Tokens live in the user's config directory (`$XDG_CONFIG_HOME/parley/` or `~/.config/parley/`)
with 0600 permissions, so a second start needs no password and no other local user can read them.

Every call is one of the SDK's functions on one `AuthenticatedClient`, whose httpx client carries
`RefreshingBearer`: the token is refreshed before it lapses, and a 401 (a token revoked or expired
early) gets one refresh and one retry, for the REST calls and the event stream alike. The stream is
read with httpx-sse on that same httpx client, since the SDK reads a stream's body as one string.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from httpx_sse import ServerSentEvent, connect_sse

from parley_client import AuthenticatedClient
from parley_client.api.invites import accept_invite
from parley_client.api.messages import add_reaction, announce_typing, list_room_messages, send_message
from parley_client.api.oauth2 import issue_token
from parley_client.api.rooms import get_room, list_rooms, mark_room_read, open_direct_room
from parley_client.api.users import get_current_user
from parley_client.models import (
    Error,
    JoinRequest,
    Me,
    Message,
    OAuth2Error,
    ReadMarkerParameters,
    Room,
    ScheduledMessage,
    SendMessageParameters,
    Token,
    TokenRequestParameters,
    TokenRequestParametersGrantType,
    UsernameParameters,
)
from parley_client.types import UNSET, Response, Unset

# The server's built-in public client that may use the password grant (and refresh its tokens).
CLIENT_ID = "documentation"
# Refresh this many seconds before the access token's announced expiry, so no request races it.
REFRESH_MARGIN = 30
TOKEN_PATH = "/auth/oauth2/token"  # noqa: S105  (a path, not a secret)
# The stream's reads wait for the next event or keep-alive (the server sends one at least every 25 s).
STREAM_TIMEOUT = httpx.Timeout(30, read=60)


class LoginError(Exception):
    """The server refused the username and password (or the refresh token is dead)."""


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "parley"


def invite_code(link: str) -> str:
    """The code of an invite link (`…/#/invites/<code>`), or the code itself."""
    return urlsplit(link.strip()).fragment.rsplit("/", 1)[-1] or link.strip().rsplit("/", 1)[-1]


def older_cursor(link: str | None) -> int | None:
    """The `before` id of a `Link` header's rel="prev" URL: where the next older page starts."""
    for part in (link or "").split(","):
        url, _, relation = part.partition(";")
        if relation.strip() == 'rel="prev"':
            return int(parse_qs(urlsplit(url.strip(" <>")).query)["before"][0])
    return None


class RefreshingBearer(httpx.Auth):
    """The session's access token on every request but the token endpoint's (which authenticates
    the OAuth2 client, not a user); a 401 gets the token refreshed and the request sent once more."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if request.url.path == TOKEN_PATH:
            request.headers.pop("Authorization", None)
            yield request
            return
        token = self.session.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self.session.refresh(stale=token)}"
            yield request


class Session:
    """Talks to the API as one user, with the SDK's functions; saves every token it is given."""

    def __init__(self, server: str, tokens: dict[str, Any] | None = None) -> None:
        self.server = server.rstrip("/")
        self.tokens: dict[str, Any] = tokens or {}
        # The UI and the stream's thread may both find the token due: one refresh, or the second would
        # present a used refresh token, which the server answers by revoking the whole chain.
        self.refreshing = threading.Lock()
        self.api = AuthenticatedClient(
            base_url=self.server,
            token="",  # RefreshingBearer sets the header of each request
            timeout=httpx.Timeout(30),
            httpx_args={"auth": RefreshingBearer(self)},
        )
        self.stream_socket: socket.socket | None = None
        # Set by `end`: no stream is read any more, not even one connecting meanwhile.
        self.ended = False

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

    def _save(self, token: Token) -> None:
        tokens = token.to_dict()
        tokens["expires_at"] = time.time() + token.expires_in
        self.tokens = tokens
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Created with 0600 from the start: never readable by others, not even for a moment.
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump({"server": self.server, "tokens": tokens}, file)
        os.chmod(self.path, 0o600)

    def _grant(self, grant: TokenRequestParametersGrantType, **form: str) -> None:
        body = TokenRequestParameters(grant_type=grant, client_id=CLIENT_ID, **form)
        answer = issue_token.sync(client=self.api, body=body)
        if isinstance(answer, OAuth2Error):
            raise LoginError(answer.error_description or answer.error)
        if not isinstance(answer, Token):
            raise LoginError(answer.message if answer else "no answer from the server")
        self._save(answer)

    def login(self, username: str, password: str) -> None:
        self._grant(TokenRequestParametersGrantType.PASSWORD, username=username, password=password)

    def refresh(self, stale: str | None = None) -> str:
        """A new access token, unless the one found `stale` was already replaced meanwhile."""
        with self.refreshing:
            if stale is None or self.tokens.get("access_token") == stale:
                self._refresh()
            return str(self.tokens["access_token"])

    def _refresh(self) -> None:
        refresh_token = self.tokens.get("refresh_token", "")
        self._grant(TokenRequestParametersGrantType.REFRESH_TOKEN, refresh_token=refresh_token)

    def access_token(self) -> str:
        with self.refreshing:
            if time.time() > self.tokens.get("expires_at", 0) - REFRESH_MARGIN:
                self._refresh()
            return str(self.tokens["access_token"])

    def me(self) -> Me:
        user = get_current_user.sync(client=self.api)
        if not isinstance(user, Me):
            raise LoginError("not logged in")
        return user

    def rooms(self) -> list[Room]:
        found = list_rooms.sync(client=self.api, page_size=100)
        return found if isinstance(found, list) else []

    def room(self, room_id: int) -> Room | Error | None:
        return get_room.sync(room_id, client=self.api)

    def history(
        self, room_id: int, before: int | Unset = UNSET, limit: int = 50
    ) -> tuple[list[Message], int | None]:
        """A page of history (oldest first), and the `before` cursor of the page older than it, if any."""
        answer = list_room_messages.sync_detailed(room_id, client=self.api, before=before, limit=limit)
        page = answer.parsed if isinstance(answer.parsed, list) else []
        return page, older_cursor(answer.headers.get("Link"))

    def send(
        self, room_id: int, body: str, parent_id: int | None = None
    ) -> Message | ScheduledMessage | Error | None:
        message = SendMessageParameters(body=body, parent_id=UNSET if parent_id is None else parent_id)
        return send_message.sync(room_id, client=self.api, body=message)

    def react(self, room_id: int, message_id: int | None, emoji: str) -> Message | Error | None:
        if message_id is None:
            return None
        return add_reaction.sync(room_id, message_id, emoji, client=self.api)

    def typing(self, room_id: int) -> None:
        announce_typing.sync_detailed(room_id, client=self.api)

    def mark_read(self, room_id: int, message_id: int) -> None:
        marker = ReadMarkerParameters(message_id=message_id)
        mark_room_read.sync_detailed(room_id, client=self.api, body=marker)

    def direct(self, username: str) -> Room | Error | None:
        return open_direct_room.sync(client=self.api, body=UsernameParameters(username=username))

    def accept_invite(self, link: str) -> Response[Error | JoinRequest | Room]:
        return accept_invite.sync_detailed(invite_code(link), client=self.api)

    def events(self, last_event_id: str | None) -> Iterator[ServerSentEvent]:
        """The event stream from just after `last_event_id`: the server replays what was missed."""
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        http = self.api.get_httpx_client()
        with connect_sse(http, "GET", "/api/v1/events", headers=headers, timeout=STREAM_TIMEOUT) as source:
            source.response.raise_for_status()
            self.stream_socket = source.response.extensions["network_stream"].get_extra_info("socket")
            try:
                if not self.ended:  # else ended while this one connected, too early for `end` to shut it
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

    def end(self) -> None:
        """Stop reading events for good (at exit, or once the tokens are dead), the stream still
        connecting included: left open, its thread would wait for an event that may never come."""
        self.ended = True
        self.close_stream()
