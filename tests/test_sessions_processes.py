"""A password change, seen from the devices of the user: their open event streams, on a server process."""

from __future__ import annotations

import time

from tests.processes import Processes
from tests.servers import PASSWORD, start_parley
from tests.streams import Stream

KEEPALIVE = 0.3  # seconds: a stream reads its token again this often
WAIT = 8.0


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
    with parley.client(stolen) as http:
        assert http.get("/api/v1/events/poll", params={"timeout": 0}).status_code == 401
