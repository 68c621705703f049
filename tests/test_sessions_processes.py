"""A password change, seen from the devices of the user: their open event streams, on a server process."""

from __future__ import annotations

import threading
import time

from tests.processes import Processes
from tests.servers import PASSWORD, Parley, start_parley

KEEPALIVE = 0.3  # seconds: a stream reads its token again this often
WAIT = 8.0


class Stream:
    """`GET /api/v1/events` held open on a thread until the server ends it or `stop()`."""

    def __init__(self, parley: Parley, token: str) -> None:
        self.opened = threading.Event()
        self.ended = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(parley, token), daemon=True)
        self._thread.start()
        assert self.opened.wait(WAIT), "the stream did not open"

    def _read(self, parley: Parley, token: str) -> None:
        with parley.client(token, timeout=WAIT) as http, http.stream("GET", "/api/v1/events") as response:
            assert response.status_code == 200, response.read()
            self.opened.set()
            for _ in response.iter_lines():  # keep-alives keep this turning
                if self._stop.is_set():
                    return
        self.ended.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(WAIT)


def test_a_password_change_closes_the_other_sessions_streams_and_keeps_its_own(
    processes: Processes, server_database: str
) -> None:
    parley = start_parley(processes, "parley", server_database, PARLEY_EVENTS_KEEPALIVE=str(KEEPALIVE))
    alice = parley.sign_up("alice")
    stolen = parley.token("alice")
    kept, other = Stream(parley, alice.token), Stream(parley, stolen)

    with parley.client(alice.token) as http:
        changed = http.patch(
            "/api/v1/users/me", json={"password": "a brand new passphrase", "current_password": PASSWORD}
        )
    assert changed.status_code == 200, changed.text

    assert other.ended.wait(WAIT), "the other session's stream outlived the password change"
    time.sleep(4 * KEEPALIVE)
    assert not kept.ended.is_set(), "the session that changed the password lost its stream"
    kept.stop()
    with parley.client(stolen) as http:
        assert http.get("/api/v1/events/poll", params={"timeout": 0}).status_code == 401
