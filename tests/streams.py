"""The event stream of a Parley server process, read as its clients read it.

`Stream` holds `GET /api/v1/events` open on a background thread (httpx-sse, or raw lines) and
keeps what arrives; `held_stream` holds one open inside a block. Every wait has a generous deadline
and ends as soon as it can.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse

from tests.servers import Account, Parley

DEADLINE = 8.0  # generous (a slow CI machine): a delivery takes milliseconds
EVENTS = "/api/v1/events"
EPHEMERAL = {"typing", "presence.updated"}  # frames without an id of their own
# Presence batches every 0.2 s; offline 1 s after the last stream closes (not 10 s).
PRESENCE = {"PARLEY_PRESENCE_INTERVAL": "0.2", "PARLEY_PRESENCE_GRACE": "1"}


@dataclass(frozen=True)
class Frame:
    type: str
    id: int | None
    data: Any


@dataclass(frozen=True)
class StoredFrame:
    """A frame of a stored event: it always has an id."""

    type: str
    id: int
    data: Any


class Stream:
    """`GET /api/v1/events` read by a daemon thread until the server ends it or `close()` hangs up.

    httpx-sse keeps the last `id:` across frames (as EventSource does), so in `frames` those of
    ephemeral types get `id` None, and a keep-alive comment (an empty `message` to httpx-sse, carrying
    that id too) is no frame at all; `events()` are the events as httpx-sse dispatches them.
    `raw=True` keeps the lines as sent instead, comments and all. The stream is open (subscribed)
    once its `retry:` frame is in.
    """

    def __init__(
        self,
        parley: Parley,
        token: str | None,
        *,
        last_event_id: int | None = None,
        name: str = "",
        wait: bool = True,
        raw: bool = False,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.name = name or f"stream on :{parley.port}"
        self.raw = raw
        self.retry: int | None = None
        self.status: int | None = None
        self.response: httpx.Response | None = None
        self.error: BaseException | None = None
        self.opened = threading.Event()
        self.ended = threading.Event()
        self._lock = threading.Lock()
        self._received: list[ServerSentEvent] = []
        self.frames: list[Frame] = []
        self._lines: list[str] = []
        self._closing = False
        headers = dict(headers or {})
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self._http = parley.client(token, timeout=httpx.Timeout(10, read=60))
        self._thread = threading.Thread(
            target=self._read, args=(params or {}, headers), name=self.name, daemon=True
        )
        self._thread.start()
        if wait:
            self.wait_open()

    def wait_open(self) -> None:
        if not self.opened.wait(15):
            pytest.fail(f"{self.name} did not open within 15 s: {self.describe()}")
        assert self.status == 200, self.describe()
        assert self.retry == 3000, f"the first frame of {self.name} is not `retry: 3000`: {self.describe()}"

    def _read(self, params: dict[str, Any], headers: dict[str, str]) -> None:
        try:
            if self.raw:
                self._read_lines(params, headers)
            else:
                self._read_events(params, headers)
        except BaseException as error:  # reported by the test that reads the stream
            if not self._closing:
                self.error = error
        finally:
            self._http.close()
            self.opened.set()
            self.ended.set()

    def _read_events(self, params: dict[str, Any], headers: dict[str, str]) -> None:
        with connect_sse(self._http, "GET", EVENTS, params=params, headers=headers) as source:
            if not self._answered(source.response):
                return
            for sse in source.iter_sse():
                if sse.retry is not None and not sse.data and self.retry is None:
                    self._subscribed(sse.retry)
                    continue
                with self._lock:
                    self._received.append(sse)
                if sse.event == "message" and not sse.data:  # a keep-alive comment, no frame
                    continue
                event_id = None if sse.event in EPHEMERAL or not sse.id else int(sse.id)
                self.frames.append(Frame(sse.event, event_id, sse.json() if sse.data else None))

    def _read_lines(self, params: dict[str, Any], headers: dict[str, str]) -> None:
        with self._http.stream("GET", EVENTS, params=params, headers=headers) as response:
            if not self._answered(response):
                return
            for line in response.iter_lines():
                with self._lock:
                    self._lines.append(line)
                if line.startswith("retry: ") and self.retry is None:
                    self._subscribed(int(line.removeprefix("retry: ")))

    def _answered(self, response: httpx.Response) -> bool:
        self.response, self.status = response, response.status_code
        if self.status != 200:
            response.read()
            self.error = AssertionError(f"{self.status}: {response.text}")
        return self.status == 200

    def _subscribed(self, retry: int) -> None:
        self.retry = retry
        self.opened.set()

    def close(self) -> None:
        """Hang up, as a device going away does (the server notices at its next keep-alive)."""
        self._closing = True
        if self.response is not None and not self.ended.is_set():
            stream = self.response.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes the reading thread
        self._thread.join(DEADLINE)

    # --- what arrived ---

    def lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def events(self) -> list[ServerSentEvent]:
        """Every event, without httpx-sse's empty dispatches after comments (keep-alives)."""
        with self._lock:
            received = list(self._received)
        return [e for e in received if not (e.event == "message" and e.data == "")]

    def stored(self) -> list[ServerSentEvent]:
        """The events that are not ephemeral, as httpx-sse dispatched them."""
        return [e for e in self.events() if e.event not in EPHEMERAL]

    def summaries(self, room_id: int | None = None) -> list[tuple[Any, ...]]:
        return [summary(e) for e in self.stored() if room_id is None or room_of(e) == room_id]

    def stored_frames(self) -> list[StoredFrame]:
        """The frames of stored events (with ids), in arrival order."""
        return [
            StoredFrame(frame.type, frame.id, frame.data) for frame in self.frames if frame.id is not None
        ]

    def messages(self) -> list[int]:
        """The ids of the messages in `message.created` frames, in arrival order."""
        return [frame.data["id"] for frame in self.frames if frame.type == "message.created"]

    def describe(self) -> str:
        shown = self.lines()[-80:] if self.raw else [f"{f.type}#{f.id}" for f in self.frames[-40:]]
        return f"{self.name}: status {self.status}, error {self.error!r}, last frames [{', '.join(shown)}]"

    def wait_until(self, condition: Callable[[Stream], bool], what: str, timeout: float = DEADLINE) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: not within {timeout} s. {self.describe()}")
            if self.ended.is_set() and not condition(self):
                pytest.fail(f"{what}: the stream ended first. {self.describe()}")
            time.sleep(0.01)

    def wait_for_message(self, message_id: int, timeout: float = DEADLINE) -> None:
        self.wait_until(lambda s: message_id in s.messages(), f"message {message_id} on {self.name}", timeout)

    def wait_for(
        self, type_: str, match: Callable[[Any], bool] = lambda data: True, timeout: float = DEADLINE
    ) -> ServerSentEvent:
        """The first event of this type whose data matches, waiting for it if need be."""
        found: list[ServerSentEvent] = []

        def arrived(stream: Stream) -> bool:
            found.extend(e for e in stream.events() if e.event == type_ and match(e.json()))
            return bool(found)

        self.wait_until(arrived, f"{type_} on {self.name}", timeout)
        return found[0]

    def wait_for_lines(self, condition: Callable[[list[str]], bool], what: str) -> list[str]:
        self.wait_until(lambda s: condition(s.lines()), f"{what} on {self.name}")
        return self.lines()


def room_of(event: ServerSentEvent) -> int | None:
    data = event.json()
    if "room_id" in data:
        return data["room_id"]
    return data.get("id") if event.event.startswith("room.") else None


def summary(event: ServerSentEvent) -> tuple[Any, ...]:
    """The fields that tell one event from another, for comparing whole sequences."""
    type_, data = event.event, event.json()
    if type_.startswith("message."):
        return (type_, data["id"], data["body"], data["deleted"])
    if type_.startswith("member."):
        return (type_, data["user"]["username"], data["role"])
    if type_.startswith("join_request."):
        return (type_, data["user"]["username"], data["status"])
    if type_ == "read.updated":
        return (type_, data["last_read_message_id"])
    if type_ in ("room.created", "room.updated"):
        return (type_, data["name"])
    if type_ == "reset":
        return (type_, data["last_event_id"])
    return (type_,)


@contextlib.contextmanager
def held_stream(parley: Parley, user: Account) -> Iterator[None]:
    """A stream of the user's, open (subscribed) inside the block; the client hangs up at its end."""
    with (
        parley.client(user.token, timeout=5) as http,
        connect_sse(http, "GET", "/api/v1/events") as source,
    ):
        frames = source.iter_sse()  # held: an iterator dropped by the GC closes the connection
        assert next(frames).retry == 3000
        yield


def presence_of(parley: Parley, user: Account) -> dict[str, Any]:
    """`presence` and `last_seen_at` of the user, as this process shows them."""
    with parley.client(user.token, timeout=5) as http:
        profile = http.get(f"/api/v1/users/{user.id}").json()
    return {"presence": profile["presence"], "last_seen_at": profile["last_seen_at"]}


def presence_told(stream: Stream, user: Account) -> list[bool]:
    """Each `online` the stream's presence batches said of the user, in order."""
    return [
        item["online"]
        for frame in stream.frames
        if frame.type == "presence.updated"
        for item in frame.data["users"]
        if item["user_id"] == user.id
    ]


def leave_a_stream(parley: Parley, user: Account) -> None:
    """Open a stream and hang up; return once the user is offline again (the servers' grace is short)."""
    with held_stream(parley, user):
        assert presence_of(parley, user)["presence"] == "online"
    # The server finds out at its next write (a keep-alive) that nobody reads the stream.
    deadline = time.monotonic() + DEADLINE
    while presence_of(parley, user)["presence"] != "offline":
        if time.monotonic() > deadline:
            pytest.fail(f"still online {DEADLINE} s after leaving:\n{parley.service.output()[-3000:]}")
        time.sleep(0.05)
    time.sleep(0.3)  # what the server does after the end of the stream (close callbacks) is logged
