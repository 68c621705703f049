"""The event stream of a Parley server process, read as its clients read it.

`Stream` holds `GET /api/v1/events` open on a background thread (httpx-sse) and keeps the frames;
`held_stream` holds one open inside a block. Every wait has a generous deadline and ends as soon
as it can.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from tests.servers import Account, Parley

DEADLINE = 5.0  # generous: a delivery takes milliseconds
EPHEMERAL = {"typing", "presence.updated"}  # frames without an id of their own
# Presence batches every 0.2 s; offline 1 s after the last stream closes (not 10 s).
PRESENCE = {"PARLEY_PRESENCE_INTERVAL": "0.2", "PARLEY_PRESENCE_GRACE": "1"}


@dataclass(frozen=True)
class Frame:
    type: str
    id: int | None
    data: Any


class Stream:
    """`GET /api/v1/events` read by a daemon thread into `frames` until the server ends it.

    httpx-sse keeps the last `id:` across frames (as EventSource does), so frames of ephemeral
    types get `id` None here, and a keep-alive comment (an empty `message` to httpx-sse, carrying
    that id too) is no frame at all. The stream is open (subscribed) once its `retry:` frame is in.
    """

    def __init__(
        self,
        parley: Parley,
        token: str,
        *,
        last_event_id: int | None = None,
        name: str = "",
        wait: bool = True,
    ) -> None:
        self.name = name or f"stream on :{parley.port}"
        self.frames: list[Frame] = []
        self.retry: int | None = None
        self.status: int | None = None
        self.error: BaseException | None = None
        self.opened = threading.Event()
        self.ended = threading.Event()
        headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
        self._thread = threading.Thread(
            target=self._read, args=(parley, token, headers), name=self.name, daemon=True
        )
        self._thread.start()
        if wait:
            self.wait_open()

    def wait_open(self) -> None:
        if not self.opened.wait(15):
            pytest.fail(f"{self.name} did not open within 15 s: {self.describe()}")
        assert self.status == 200, self.describe()
        assert self.retry == 3000, f"the first frame of {self.name} is not `retry: 3000`: {self.describe()}"

    def _read(self, parley: Parley, token: str, headers: dict[str, str]) -> None:
        try:
            with (
                parley.client(token, timeout=httpx.Timeout(10, read=60)) as http,
                connect_sse(http, "GET", "/api/v1/events", headers=headers) as source,
            ):
                self.status = source.response.status_code
                if self.status != 200:
                    source.response.read()
                    self.error = AssertionError(f"{self.status}: {source.response.text}")
                    return
                for sse in source.iter_sse():
                    if sse.retry is not None and not sse.data and self.retry is None:
                        self.retry = sse.retry
                        self.opened.set()
                        continue
                    if sse.event == "message" and not sse.data:  # a keep-alive comment, no frame
                        continue
                    event_id = None if sse.event in EPHEMERAL or not sse.id else int(sse.id)
                    self.frames.append(Frame(sse.event, event_id, sse.json() if sse.data else None))
        except BaseException as error:  # reported by the test that reads the stream
            self.error = error
        finally:
            self.opened.set()
            self.ended.set()

    # --- what arrived ---

    def stored(self) -> list[Frame]:
        """The frames of stored events (with ids), in arrival order."""
        return [frame for frame in self.frames if frame.id is not None]

    def messages(self) -> list[int]:
        """The ids of the messages in `message.created` frames, in arrival order."""
        return [frame.data["id"] for frame in self.frames if frame.type == "message.created"]

    def describe(self) -> str:
        frames = ", ".join(f"{f.type}#{f.id}" for f in self.frames[-40:])
        return f"{self.name}: status {self.status}, error {self.error!r}, last frames [{frames}]"

    def wait_for(self, condition: Callable[[Stream], bool], what: str, timeout: float = DEADLINE) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: not within {timeout} s. {self.describe()}")
            if self.ended.is_set() and not condition(self):
                pytest.fail(f"{what}: the stream ended first. {self.describe()}")
            time.sleep(0.01)

    def wait_for_message(self, message_id: int, timeout: float = DEADLINE) -> None:
        self.wait_for(lambda s: message_id in s.messages(), f"message {message_id} on {self.name}", timeout)


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
