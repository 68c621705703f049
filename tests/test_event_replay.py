"""Who sees which event, read back through the long-poll (replay) with the test client.

A long-poll with `timeout=0` answers with what is stored after `since`: exactly the replay a
reconnecting stream gets. Live delivery over real sockets is in tests/test_events.py.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, update

from app.extensions import db
from app.extensions.database import rows_changed, utcnow
from app.modules.auth.models import OAuth2Token
from app.modules.events.hub import Hub
from app.modules.events.models import Event, MembershipSpan, StreamTicket
from app.modules.events.services import purge_expired
from app.modules.users.models import User
from tests.assertions import assert_error, assert_invalid
from tests.conftest import PASSWORD, age_tokens, bearer
from tests.outbox import last_event_id
from tests.rooms import create_room_id

POLL = "/api/v1/events/poll"


def replay(client, user, since: int) -> list[dict[str, Any]]:
    """The stored events after `since` (presence batches, which come whenever they fall, left out)."""
    response = client.get(POLL, query_string={"since": since, "timeout": 0}, headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return [event for event in response.get_json()["events"] if event["type"] != "presence.updated"]


def seen(client, user, since: int, room_id: int | None = None) -> list[tuple]:
    """(type, key) of each event the user would replay, optionally only those of one room."""
    out = []
    for event in replay(client, user, since):
        data = event["data"]
        where = data.get("room_id", data.get("id") if event["type"].startswith("room.") else None)
        if room_id is None or where == room_id:
            key = data.get("body", data.get("user", {}).get("username", data.get("last_read_message_id")))
            out.append((event["type"], key))
    return out


def say(client, user, room_id: int, body: str) -> int:
    response = client.post(f"/api/v1/rooms/{room_id}/messages", json={"body": body}, headers=user.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def add(client, by, room_id: int, username: str) -> None:
    response = client.post(
        f"/api/v1/rooms/{room_id}/members", json={"username": username}, headers=by.headers
    )
    assert response.status_code == 201, response.get_json()


def kick(client, by, room_id: int, user_id: int) -> None:
    assert client.delete(f"/api/v1/rooms/{room_id}/members/{user_id}", headers=by.headers).status_code == 204


# --- who sees what ----------------------------------------------------------------------------


def test_a_member_replays_only_what_happened_while_they_were_in_the_room(app, client, alice, bob, carol):
    room = create_room_id(client, alice)
    mark = last_event_id(app)
    before = say(client, alice, room, "before bob")
    add(client, alice, room, "bob")
    with_bob = say(client, alice, room, "with bob")
    kick(client, alice, room, bob.id)
    after = say(client, alice, room, "after bob")
    add(client, alice, room, "bob")
    again = say(client, alice, room, "bob again")

    assert seen(client, bob, mark, room) == [
        ("member.added", "bob"),
        ("message.created", "with bob"),
        ("member.removed", "bob"),
        ("member.added", "bob"),
        ("message.created", "bob again"),
    ]
    assert seen(client, alice, mark, room) == [  # with her own read marker following what she sends
        ("message.created", "before bob"),
        ("read.updated", before),
        ("member.added", "bob"),
        ("message.created", "with bob"),
        ("read.updated", with_bob),
        ("member.removed", "bob"),
        ("message.created", "after bob"),
        ("read.updated", after),
        ("member.added", "bob"),
        ("message.created", "bob again"),
        ("read.updated", again),
    ]
    assert seen(client, carol, mark, room) == []


def test_the_creator_and_first_members_replay_the_rooms_creation(app, client, alice, bob, carol):
    mark = last_event_id(app)
    room = create_room_id(client, alice, members=["bob"])
    assert seen(client, alice, mark, room) == [
        ("member.added", "alice"),
        ("member.added", "bob"),
        ("room.created", None),
    ]
    # Bob was in the room from his own member.added on.
    assert seen(client, bob, mark, room) == [("member.added", "bob"), ("room.created", None)]
    assert seen(client, carol, mark, room) == []


def test_join_requests_reach_the_owner_admins_and_requester_but_not_plain_members(
    app, client, alice, bob, carol, make_user
):
    dave = make_user("dave")
    room = create_room_id(client, alice, members=["bob", "dave"])
    client.patch(f"/api/v1/rooms/{room}/members/{dave.id}", json={"role": "admin"}, headers=alice.headers)
    code = client.post(f"/api/v1/rooms/{room}/invites", json={}, headers=alice.headers).get_json()["code"]
    mark = last_event_id(app)
    assert client.post(f"/api/v1/invites/{code}/accept", headers=carol.headers).status_code == 202

    def requests_seen(user) -> list[str]:
        return [e["type"] for e in replay(client, user, mark) if e["type"].startswith("join_request.")]

    assert requests_seen(alice) == requests_seen(dave) == requests_seen(carol) == ["join_request.created"]
    assert requests_seen(bob) == []


def test_a_read_marker_reaches_only_its_owner_with_their_unread_count(app, client, alice, bob):
    room = create_room_id(client, alice, members=["bob"])
    first = say(client, bob, room, "one")
    say(client, bob, room, "two")
    mark = last_event_id(app)
    assert (
        client.put(
            f"/api/v1/rooms/{room}/read", json={"message_id": first}, headers=alice.headers
        ).status_code
        == 200
    )

    (event,) = replay(client, alice, mark)
    assert event["type"] == "read.updated"
    assert event["data"] == {"room_id": room, "last_read_message_id": first, "unread_count": 1}
    assert replay(client, bob, mark) == []


def test_sending_moves_the_senders_read_marker_on_every_device_and_no_one_elses(app, client, alice, bob):
    room = create_room_id(client, alice, members=["bob"])
    say(client, bob, room, "unread by alice")
    mark = last_event_id(app)
    mine = say(client, alice, room, "mine")

    assert [(e["type"], e["data"]) for e in replay(client, alice, mark)][1:] == [
        ("read.updated", {"room_id": room, "last_read_message_id": mine, "unread_count": 0})
    ]
    assert [e["type"] for e in replay(client, bob, mark)] == ["message.created"]


def test_a_room_update_is_shown_to_each_receiver_as_their_rest_view(app, client, alice, bob):
    room = create_room_id(client, alice, members=["bob"])
    say(client, alice, room, "unread for bob")
    mark = last_event_id(app)
    assert (
        client.patch(f"/api/v1/rooms/{room}", json={"topic": "new"}, headers=alice.headers).status_code == 200
    )

    for user, role, unread in ((alice, "owner", 0), (bob, "member", 1)):
        (event,) = replay(client, user, mark)
        rest = client.get(f"/api/v1/rooms/{room}", headers=user.headers).get_json()
        assert event["type"] == "room.updated"
        assert event["data"] == rest
        assert (event["data"]["topic"], event["data"]["role"], event["data"]["unread_count"]) == (
            "new",
            role,
            unread,
        )


def test_a_deleted_room_is_announced_to_its_members_and_then_is_silent(app, client, alice, bob, carol):
    room = create_room_id(client, alice, members=["bob"])
    mark = last_event_id(app)
    assert client.delete(f"/api/v1/rooms/{room}", headers=alice.headers).status_code == 204
    assert seen(client, bob, mark) == [("room.deleted", None)]
    assert replay(client, bob, mark)[0]["data"] == {"id": room}
    assert replay(client, carol, mark) == []


def test_message_events_carry_the_message_as_the_api_shows_it(app, client, alice, bob):
    room = create_room_id(client, alice, members=["bob"])
    mark = last_event_id(app)
    mid = say(client, alice, room, "hello")
    client.patch(f"/api/v1/rooms/{room}/messages/{mid}", json={"body": "hello!"}, headers=alice.headers)
    client.delete(f"/api/v1/rooms/{room}/messages/{mid}", headers=alice.headers)
    events = replay(client, bob, mark)
    assert [e["type"] for e in events] == ["message.created", "message.updated", "message.deleted"]
    assert (
        events[-1]["data"]
        == client.get(f"/api/v1/rooms/{room}/messages/{mid}", headers=bob.headers).get_json()
    )
    assert [e["id"] for e in events] == sorted({e["id"] for e in events})


# --- the long-poll itself ---------------------------------------------------------------------


def test_a_poll_without_since_starts_from_now(app, client, alice):
    create_room_id(client, alice)
    body = client.get(POLL, query_string={"timeout": 0}, headers=alice.headers).get_json()
    # Alice's own presence batch (ephemeral, no id) may be flushed while the poll runs.
    assert [event for event in body["events"] if event["id"] is not None] == []
    assert body["last_event_id"] == last_event_id(app)


def test_a_poll_answers_last_event_id_to_continue_from(app, client, alice):
    room = create_room_id(client, alice)
    mark = last_event_id(app)
    say(client, alice, room, "a")
    say(client, alice, room, "b")
    body = client.get(POLL, query_string={"since": mark, "timeout": 0}, headers=alice.headers).get_json()
    assert body["last_event_id"] == body["events"][-1]["id"] == last_event_id(app)
    again = client.get(
        POLL, query_string={"since": body["last_event_id"], "timeout": 0}, headers=alice.headers
    )
    assert again.get_json() == {"events": [], "last_event_id": last_event_id(app)}


def test_a_resume_point_that_no_longer_exists_gets_one_reset(app, client, alice):
    create_room_id(client, alice)
    newest = last_event_id(app)
    body = client.get(POLL, query_string={"since": newest + 1000, "timeout": 0}, headers=alice.headers)
    assert body.get_json() == {
        "events": [{"id": newest, "type": "reset", "data": {"last_event_id": newest}}],
        "last_event_id": newest,
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"timeout": 61}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"since": -1}, "since"),
        ({"since": "x"}, "since"),
    ],
)
def test_bad_poll_parameters_are_422_naming_the_field(client, alice, query, field):
    assert_invalid(client.get(POLL, query_string=query, headers=alice.headers), "query", field)


@pytest.mark.parametrize("path", [POLL, "/api/v1/events"])
def test_events_need_a_token_with_messages_read(client, alice, path):
    assert_error(client.get(path), 401)
    token = alice.token_with("users:read rooms:read")
    assert_error(client.get(path, headers=bearer(token)), 403)


def test_a_bad_last_event_id_header_is_a_422_naming_it(client, alice):
    response = client.get("/api/v1/events", headers={**alice.headers, "Last-Event-ID": "soon"})
    assert_invalid(response, "headers", "Last-Event-ID")


# --- tickets ----------------------------------------------------------------------------------


def open_stream(client, query: dict[str, Any], headers: dict[str, str] | None = None):
    return client.get("/api/v1/events", query_string=query, headers=headers or {}, buffered=False)


def ticket_for(client, user) -> dict[str, Any]:
    response = client.post("/api/v1/events/ticket", headers=user.headers)
    assert response.status_code == 200
    return response.get_json()


def test_a_ticket_opens_one_stream_once(app, client, alice):
    issued = ticket_for(client, alice)
    assert issued["expires_in"] == app.config["EVENTS_TICKET_SECONDS"]
    stream = open_stream(client, {"ticket": issued["ticket"]})
    assert stream.status_code == 200
    assert stream.mimetype == "text/event-stream"
    assert next(stream.response) == b"retry: 3000\n\n"
    stream.close()
    assert_error(open_stream(client, {"ticket": issued["ticket"]}), 401)


def test_an_expired_or_made_up_ticket_is_a_401(app, client, alice):
    issued = ticket_for(client, alice)
    with app.app_context():
        db.session.execute(update(StreamTicket).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    for ticket in (issued["ticket"], "made-up"):
        response = open_stream(client, {"ticket": ticket})
        assert_error(response, 401)
        assert "invalid_token" in response.headers["WWW-Authenticate"]


def test_tickets_are_stored_hashed(app, client, alice):
    issued = ticket_for(client, alice)
    with app.app_context():
        stored = db.session.scalars(select(StreamTicket.ticket_hash)).all()
    assert len(stored) == 1 and issued["ticket"] not in stored[0]


def test_a_ticket_needs_a_token_with_messages_read(client, alice):
    assert_error(client.post("/api/v1/events/ticket"), 401)
    assert_error(client.post("/api/v1/events/ticket", headers=bearer(alice.token_with("users:read"))), 403)


def test_an_access_token_in_the_url_opens_nothing(client, alice):
    assert_error(open_stream(client, {"access_token": alice.token}), 401)


def test_one_user_may_hold_only_so_many_streams_and_polls_at_once(app, client, alice, bob, monkeypatch):
    monkeypatch.setitem(app.config, "EVENTS_MAX_STREAMS_PER_USER", 3)
    streams = [open_stream(client, {}, alice.headers) for _ in range(3)]
    try:
        assert [s.status_code for s in streams] == [200, 200, 200]
        for refused in (open_stream(client, {}, alice.headers), client.get(POLL, headers=alice.headers)):
            assert_error(refused, 429)
            assert refused.headers["Retry-After"] == "3"
        others = open_stream(client, {}, bob.headers)  # others are not affected
        assert others.status_code == 200
        others.close()
    finally:
        for stream in reversed(streams):  # the test client nests their contexts
            stream.close()
    again = open_stream(client, {}, alice.headers)
    assert again.status_code == 200
    again.close()


# --- a stream lives as long as its token ------------------------------------------------------


def revoke(client, token: str) -> None:
    response = client.post("/auth/oauth2/revoke", data={"token": token, "client_id": "documentation"})
    assert response.status_code == 200


def without_presence(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """A stream's frames but presence batches (alice's own, at the next interval, whenever that falls).

    Frames, not chunks: what piles up while a stream waits leaves in one write (a keep-alive and
    a presence batch together)."""
    return (
        frame + b"\n\n"
        for chunk in chunks
        for frame in chunk.split(b"\n\n")
        if frame and not frame.startswith(b"event: presence.updated\n")
    )


def test_an_idle_stream_sends_one_keep_alive_per_interval(app, client, alice, monkeypatch):
    monkeypatch.setitem(app.config, "EVENTS_KEEPALIVE_SECONDS", 0.1)
    stream = open_stream(client, {}, alice.headers)
    try:
        chunks = without_presence(stream.response)
        assert next(chunks) == b"retry: 3000\n\n"
        started, keep_alives = time.monotonic(), []
        while time.monotonic() - started < 1:
            keep_alives.append(next(chunks))
    finally:
        stream.close()
    assert set(keep_alives) == {b": keep-alive\n\n"}
    # About ten in a second (the first comes after 50 to 100 ms); a busy loop would send thousands.
    assert 5 <= len(keep_alives) <= 12


def test_a_stream_that_keeps_sending_events_is_not_also_sent_keep_alives(app, client, alice, monkeypatch):
    """A keep-alive is for a stream with nothing to say: 10,000 busy streams woken for one each at
    the same moment held every delivery behind them for a quarter of a second."""
    monkeypatch.setitem(app.config, "EVENTS_KEEPALIVE_SECONDS", 1.0)  # busy: a message in the last 0.5 s
    room = create_room_id(client, alice)
    stream = open_stream(client, {}, alice.headers)
    try:
        chunks = without_presence(stream.response)
        assert next(chunks) == b"retry: 3000\n\n"
        started = said = time.monotonic()
        sent, paused = [], 0.0
        while time.monotonic() - started < 3:  # three intervals, a message every tenth of one or so
            now = time.monotonic()
            paused, said = max(paused, now - said), now
            say(client, alice, room, "still here")
            sent.append((next(chunks), max(paused, time.monotonic() - said)))
            time.sleep(0.05)
    finally:
        stream.close()
    # The first check may come before the first message; and a machine that stalls this loop for
    # half an interval (a busy CI's did, for 0.66 s) leaves the stream idle that long: a keep-alive
    # is its due then.
    unasked = [chunk for chunk, paused in sent[2:] if chunk == b": keep-alive\n\n" and paused < 0.5]
    assert not unasked, [chunk for chunk, _ in sent]


def test_one_statement_checks_the_tokens_of_every_open_stream_at_each_keep_alive(
    app, live_server, alice, bob, carol, monkeypatch
):
    """A thousand open streams cost one token check per interval, not a thousand (every thread counts).

    Nor does it build a token and a user object per stream: with 10,000 streams that held a
    worker's loop (and every delivery behind it) for a fifth of a second per 5,000. (A check may
    pass a stream by: one told of presence just before it needs no keep-alive.)
    """
    monkeypatch.setitem(app.config, "EVENTS_KEEPALIVE_SECONDS", 0.5)
    checks: list[str] = []
    loaded: list[object] = []
    rounds: list[Hub] = []
    check_streams = Hub._check_streams

    def check_counted(hub: Hub) -> None:
        rounds.append(hub)
        check_streams(hub)

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        if "oauth2_tokens" in statement:
            checks.append(statement)

    def load(target: object, context: object) -> None:
        loaded.append(target)

    with app.app_context():
        engine = db.engine
    with contextlib.ExitStack() as streams, httpx.Client(base_url=live_server, timeout=10) as http:
        for user in (carol, bob, alice):  # each served by a thread of its own, read or not
            response = streams.enter_context(http.stream("GET", "/api/v1/events", headers=user.headers))
            assert response.status_code == 200
        lines = response.iter_lines()  # alice's
        assert next(lines) == "retry: 3000"
        keep_alive = functools.partial(next, (line for line in lines if line == ": keep-alive"))
        keep_alive()
        monkeypatch.setattr(Hub, "_check_streams", check_counted)
        sa_event.listen(engine, "before_cursor_execute", count)
        sa_event.listen(OAuth2Token, "load", load)
        sa_event.listen(User, "load", load)
        try:
            keep_alive()  # the next check that reaches her, and only the checks up to it, in between
        finally:
            sa_event.remove(engine, "before_cursor_execute", count)
            sa_event.remove(OAuth2Token, "load", load)
            sa_event.remove(User, "load", load)
    assert len(checks) == len(rounds) >= 1, "\n\n".join(checks)
    assert loaded == []


@pytest.mark.parametrize("how", ["bearer", "ticket"])
@pytest.mark.parametrize("end", ["revoked", "expired"])
def test_a_stream_ends_once_its_token_no_longer_grants_access(app, client, alice, monkeypatch, how, end):
    monkeypatch.setitem(app.config, "EVENTS_KEEPALIVE_SECONDS", 0.2)
    if how == "bearer":
        stream = open_stream(client, {}, alice.headers)
    else:
        stream = open_stream(client, {"ticket": ticket_for(client, alice)["ticket"]})
    try:
        chunks = without_presence(stream.response)
        assert next(chunks) == b"retry: 3000\n\n"
        assert next(chunks) == b": keep-alive\n\n"  # checked, still good
        if end == "revoked":
            revoke(client, alice.token)
        else:
            age_tokens(app, app.config["ACCESS_TOKEN_EXPIRES_IN"] + 1)
        assert list(chunks) == []
    finally:
        stream.close()


@pytest.mark.parametrize("end", ["revoked", "expired", "password changed"])
def test_a_bearer_token_that_no_longer_grants_access_opens_no_stream(app, client, alice, end):
    """The stream's opening statement decides it (`grants_access`), as the token check elsewhere does."""
    token = alice.token_with("messages:read")  # another session's: a password change ends it
    if end == "revoked":
        revoke(client, token)
    elif end == "expired":
        age_tokens(app, app.config["ACCESS_TOKEN_EXPIRES_IN"] + 1)
    else:
        changed = client.patch(
            "/api/v1/users/me",
            json={"password": "a brand new passphrase", "current_password": PASSWORD},
            headers=alice.headers,
        )
        assert changed.status_code == 200
    response = open_stream(client, {}, bearer(token))
    try:
        assert_error(response, 401)
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="parley", error="invalid_token"'
    finally:
        response.close()


@pytest.mark.parametrize("end", ["revoked", "expired", "deleted"])
def test_a_ticket_whose_token_no_longer_grants_access_opens_nothing(app, client, alice, end):
    issued = ticket_for(client, alice)
    if end == "revoked":
        revoke(client, alice.token)
    elif end == "expired":
        age_tokens(app, app.config["ACCESS_TOKEN_EXPIRES_IN"] + 1)
    else:
        gone = client.delete("/api/v1/users/me", json={"current_password": PASSWORD}, headers=alice.headers)
        assert gone.status_code == 204
    response = open_stream(client, {"ticket": issued["ticket"], "since": 0})
    try:
        assert response.status_code == 401  # before reading: an opened stream never ends
        assert_error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    finally:
        response.close()


# --- retention --------------------------------------------------------------------------------


def test_the_purge_job_forgets_old_events_and_their_resume_points_then_reset(app, client, alice, bob):
    room = create_room_id(client, alice, members=["bob"])
    kick(client, alice, room, bob.id)
    old = last_event_id(app)
    ticket_for(client, alice)
    with app.app_context():
        aged = rows_changed(update(Event).values(created_at=utcnow() - timedelta(days=2)))
        db.session.execute(update(StreamTicket).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    say(client, alice, room, "fresh")
    with app.app_context():
        assert purge_expired() == aged
        remaining = db.session.scalars(select(Event.type)).all()
        closed_spans = db.session.scalar(
            select(func.count()).select_from(MembershipSpan).where(MembershipSpan.last_event_id.is_not(None))
        )
        tickets = db.session.scalar(select(func.count()).select_from(StreamTicket))
    assert remaining == ["message.created", "read.updated"]
    assert (closed_spans, tickets) == (0, 0)
    (reset,) = replay(client, alice, old)
    assert reset["type"] == "reset"


def test_event_ids_are_never_reused_after_a_purge(app, client, alice):
    room = create_room_id(client, alice)
    before = last_event_id(app)
    with app.app_context():
        db.session.execute(update(Event).values(created_at=utcnow() - timedelta(days=2)))
        db.session.commit()
        purge_expired()
    say(client, alice, room, "after the purge")
    assert last_event_id(app) > before


# --- typing and presence ----------------------------------------------------------------------


def test_typing_is_for_members_with_messages_write(client, alice, bob, carol):
    room = create_room_id(client, alice, members=["bob"])
    response = client.post(f"/api/v1/rooms/{room}/typing", headers=bob.headers)
    assert response.status_code == 204 and response.data == b""
    assert_error(client.post(f"/api/v1/rooms/{room}/typing"), 401)
    assert_error(
        client.post(f"/api/v1/rooms/{room}/typing", headers=bearer(bob.token_with("messages:read"))), 403
    )
    assert_error(client.post(f"/api/v1/rooms/{room}/typing", headers=carol.headers), 404)


def test_typing_is_never_stored(app, client, alice):
    room = create_room_id(client, alice)
    mark = last_event_id(app)
    client.post(f"/api/v1/rooms/{room}/typing", headers=alice.headers)
    assert last_event_id(app) == mark


def test_a_profile_shows_presence_offline_without_streams(client, alice, bob):
    assert client.get(f"/api/v1/users/{bob.id}", headers=alice.headers).get_json()["presence"] == "offline"


# --- the OpenAPI document ---------------------------------------------------------------------


def test_the_stream_is_documented_as_an_event_stream_with_its_resume_parameters(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    stream = spec["paths"]["/api/v1/events"]["get"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    assert {(p["in"], p["name"]) for p in stream["parameters"]} >= {
        ("query", "since"),
        ("query", "ticket"),
        ("header", "Last-Event-ID"),
    }
    assert stream["security"] == [{"oauth2": ["messages:read"]}]
    assert {"200", "401", "403", "422"} <= set(spec["paths"]["/api/v1/events/poll"]["get"]["responses"])
    assert "200" in spec["paths"]["/api/v1/events/ticket"]["post"]["responses"]
