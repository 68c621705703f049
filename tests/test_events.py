"""The event stream (SSE) and long-poll, driven as clients drive them: against one server process.

Every stream is read on its own thread, as a device would hold it open, while the test makes
REST calls. Negative checks ("carol sees nothing of the room") wait for a later sentinel event
that the observer does see: a stream delivers in id order, so once the sentinel is there,
everything before it would have been too.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse

from tests.conftest import new_server_database
from tests.processes import Processes
from tests.servers import Parley, random_loopback_address, start_parley
from tests.streams import DEADLINE, EVENTS, Stream, room_of, summary

POLL = "/api/v1/events/poll"
# Events whose data is rendered for each receiver at delivery time (unread count, role).
ROOM_VIEWS = frozenset({"room.created", "room.updated", "read.updated"})


# --- the server: one process for the whole module -------------------------------------------


@pytest.fixture(scope="module")
def parley(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parley]:
    """The development server with 1 s keep-alives; on PostgreSQL and Redis in that pass, else in-process.

    Presence batches go out every 0.2 s, and a user is offline 1 s after their last stream closes.
    """
    processes = Processes(tmp_path_factory.mktemp("events"))
    settings = {
        "PARLEY_EVENTS_KEEPALIVE": "1",
        "PARLEY_PRESENCE_INTERVAL": "0.2",
        "PARLEY_PRESENCE_GRACE": "1",
    }
    if os.environ.get("REDIS_URL"):  # the Redis pass: its broker and presence, on a channel of our own
        settings.update(
            REDIS_URL=os.environ["REDIS_URL"],
            PARLEY_EVENTS_CHANNEL=f"parley-test-events-{uuid.uuid4().hex[:12]}",
        )
    with new_server_database(request, processes.logs) as database:
        try:
            yield start_parley(processes, "parley-events", database, extra_env=settings)
        finally:
            processes.stop_all()


# --- people and their devices -----------------------------------------------------------------


@dataclasses.dataclass
class Person:
    id: int
    username: str
    token: str
    http: httpx.Client

    def call(self, method: str, url: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.http.request(method, url, **kwargs)
        assert response.status_code == status, f"{method} {url}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def create_room(self, name: str, members: list[Person]) -> dict[str, Any]:
        body = {"name": name, "kind": "private", "members": [m.username for m in members]}
        return self.call("POST", "/api/v1/rooms", 201, json=body)

    def send(self, room_id: int, body: str) -> dict[str, Any]:
        return self.call("POST", f"/api/v1/rooms/{room_id}/messages", 201, json={"body": body})

    def latest_event_id(self) -> int:
        """The newest stored event id (a long-poll "from now" that does not wait)."""
        return self.call("GET", POLL, params={"timeout": 0})["last_event_id"]


class Scene:
    """The people of one test and their open streams, all closed afterwards."""

    def __init__(self, parley: Parley) -> None:
        self.parley = parley
        self.people: list[Person] = []
        self.devices: list[Stream] = []

    def fresh_address(self) -> Parley:
        """The same server, talked to from a new loopback address (a fresh sign-up/token budget)."""
        return dataclasses.replace(self.parley, source=random_loopback_address())

    def person(self, name: str) -> Person:
        account = self.fresh_address().sign_up(f"{name}_{uuid.uuid4().hex[:10]}")
        person = Person(
            account.id, account.username, account.token, self.parley.client(account.token, timeout=10)
        )
        self.people.append(person)
        return person

    def token(self, person: Person, scope: str) -> str:
        return self.fresh_address().token(person.username, scope=scope)

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        return self.parley.client(token, **kwargs)

    def stream(
        self, who: Person | None, name: str | None = None, *, token: str | None = None, **kwargs: Any
    ) -> Stream:
        token = token or (who.token if who else None)
        device = Stream(self.parley, token, name=name or (who.username if who else "anonymous"), **kwargs)
        self.devices.append(device)
        return device

    def close(self) -> None:
        for device in self.devices:
            device.close()
        for person in self.people:
            person.http.close()


@pytest.fixture
def scene(parley: Parley) -> Iterator[Scene]:
    scene = Scene(parley)
    try:
        yield scene
    finally:
        scene.close()


# --- reading events ---------------------------------------------------------------------------


def ids_of(events: list[ServerSentEvent]) -> list[int]:
    return [int(e.id) for e in events]


def assert_strictly_increasing(device: Stream) -> None:
    ids = ids_of(device.stored())
    assert ids == sorted(set(ids)), f"{device.name}: ids not strictly increasing: {ids}"


def created_room_seen_by(room: dict[str, Any], members: list[Person], viewer: Person) -> list[tuple]:
    """A room made with `members` (owner first), as `viewer` hears it: from their own member.added on."""
    order = [(p.username, "owner" if i == 0 else "member") for i, p in enumerate(members)]
    start = [name for name, _ in order].index(viewer.username)
    return [("member.added", name, role) for name, role in order[start:]] + [("room.created", room["name"])]


def frames(lines: list[str]) -> list[list[str]]:
    """Raw lines cut into frames at blank lines."""
    cut: list[list[str]] = []
    frame: list[str] = []
    for line in lines:
        if line == "":
            if frame:
                cut.append(frame)
            frame = []
        else:
            frame.append(line)
    return cut


def field_of(frame: list[str], name: str) -> str | None:
    for line in frame:
        key, _, value = line.partition(": ")
        if key == name:
            return value
    return None


def data_of(frame: list[str]) -> Any:
    """The frame's `data:` field, decoded."""
    data = field_of(frame, "data")
    assert data is not None, frame
    return json.loads(data)


def refused(http: httpx.Client, **kwargs: Any) -> httpx.Response:
    """A stream request that must be refused: its body is read only then (a stream never ends)."""
    with http.stream("GET", EVENTS, **kwargs) as response:
        if response.status_code == 200:
            pytest.fail(f"a stream opened for {kwargs}")
        response.read()
    return response


def assert_error(response: httpx.Response, code: int) -> dict[str, Any]:
    assert response.status_code == code, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


# --- who sees what ----------------------------------------------------------------------------


def test_members_devices_see_the_room_in_order_and_outsiders_see_none_of_it(scene):
    alice, bob, carol, dave, erin = (scene.person(n) for n in ("alice", "bob", "carol", "dave", "erin"))
    phone, laptop = scene.stream(alice, "alice-phone"), scene.stream(alice, "alice-laptop")
    watching = {p.username: scene.stream(p) for p in (bob, carol, dave, erin)}

    room = alice.create_room("plans", [bob])
    rid = room["id"]
    m1 = bob.send(rid, "hello")
    m1_edited = bob.call("PATCH", f"/api/v1/rooms/{rid}/messages/{m1['id']}", json={"body": "hello, edited"})
    m2 = bob.send(rid, "second")
    bob.call("DELETE", f"/api/v1/rooms/{rid}/messages/{m1['id']}", 204)
    m1_tombstone = bob.call("GET", f"/api/v1/rooms/{rid}/messages/{m1['id']}")
    alice.call("PUT", f"/api/v1/rooms/{rid}/read", json={"message_id": m2["id"]})
    dave_added = alice.call("POST", f"/api/v1/rooms/{rid}/members", 201, json={"username": dave.username})
    alice.call("DELETE", f"/api/v1/rooms/{rid}/members/{dave.id}", 204)
    invite = alice.call("POST", f"/api/v1/rooms/{rid}/invites", 201, json={"requires_approval": True})
    request = erin.call("POST", f"/api/v1/invites/{invite['code']}/accept", 202)
    alice.call("POST", f"/api/v1/rooms/{rid}/join-requests/{request['id']}/approve")
    m3 = erin.send(rid, "hi all")
    everyone = [alice, bob, carol, dave, erin]
    sentinel = alice.create_room("sentinel", everyone[1:])
    for device in (phone, laptop, *watching.values()):
        device.wait_for("room.created", lambda data: data["id"] == sentinel["id"])

    a, b, d, e = alice.username, bob.username, dave.username, erin.username
    m1_id, m2_id, m3_id = m1["id"], m2["id"], m3["id"]
    seen_by_alice = [
        ("member.added", a, "owner"),
        ("member.added", b, "member"),
        ("room.created", "plans"),
        ("message.created", m1_id, "hello", False),
        ("message.updated", m1_id, "hello, edited", False),
        ("message.created", m2_id, "second", False),
        ("message.deleted", m1_id, "", True),
        ("read.updated", m2_id),
        ("member.added", d, "member"),
        ("member.removed", d, "member"),
        ("invite.created",),
        ("join_request.created", e, "pending"),
        ("member.added", e, "member"),
        ("join_request.resolved", e, "approved"),
        ("message.created", m3_id, "hi all", False),
    ]
    not_for_bob = {"read.updated", "invite.created", "join_request.created", "join_request.resolved"}
    seen_by_bob = [s for s in seen_by_alice[1:] if s[0] not in not_for_bob]
    # What each sends moves their own read marker, on all their devices.
    seen_by_bob.insert(
        seen_by_bob.index(("message.created", m1_id, "hello", False)) + 1, ("read.updated", m1_id)
    )
    seen_by_bob.insert(
        seen_by_bob.index(("message.created", m2_id, "second", False)) + 1, ("read.updated", m2_id)
    )
    seen_by_dave = [("member.added", d, "member"), ("member.removed", d, "member")]
    seen_by_erin = [*seen_by_alice[-4:], ("read.updated", m3_id)]

    def whole(view: list[tuple], viewer: Person) -> list[tuple]:
        return view + created_room_seen_by(sentinel, everyone, viewer)

    assert phone.summaries() == whole(seen_by_alice, alice)
    assert watching[b].summaries() == whole(seen_by_bob, bob)
    assert watching[d].summaries() == whole(seen_by_dave, dave)
    assert watching[e].summaries() == whole(seen_by_erin, erin)
    # carol was in no room with these events: she sees the sentinel room, and nothing else at all.
    assert watching[carol.username].summaries() == whole([], carol)

    # Both of alice's devices get the same events, same ids, same data.
    def exact(device: Stream) -> list[tuple]:
        return [
            (ev.id, ev.event, summary(ev) if ev.event in ROOM_VIEWS else ev.json()) for ev in device.stored()
        ]

    assert exact(phone) == exact(laptop)
    for device in (phone, laptop, *watching.values()):
        assert_strictly_increasing(device)

    # The data is the resource as the REST API shows it.
    in_room = {(ev.event, ev.json().get("id")): ev.json() for ev in phone.stored() if room_of(ev) == rid}
    assert in_room["message.created", m1_id] == m1
    assert in_room["message.updated", m1_id] == m1_edited
    assert in_room["message.deleted", m1_id] == m1_tombstone
    assert in_room["message.created", m3_id] == m3
    read = phone.wait_for("read.updated").json()
    assert read == {"room_id": rid, "last_read_message_id": m2_id, "unread_count": read["unread_count"]}
    added = next(ev.json() for ev in phone.stored() if summary(ev) == ("member.added", d, "member"))
    assert added == {"room_id": rid, **dave_added}
    resolved = phone.wait_for("join_request.resolved").json()
    assert resolved["id"] == request["id"] and resolved["room_id"] == rid
    assert resolved["user"]["id"] == erin.id


def test_a_removed_member_stops_hearing_the_room_at_once_and_hears_it_again_when_re_added(scene):
    alice, bob = scene.person("alice"), scene.person("bob")
    room = alice.create_room("kitchen", [bob])
    other = alice.create_room("hallway", [bob])  # a room bob stays in: its messages are sentinels
    rid = room["id"]
    device = scene.stream(bob)

    a1 = alice.send(rid, "one")
    device.wait_for("message.created", lambda data: data["id"] == a1["id"])
    alice.call("DELETE", f"/api/v1/rooms/{rid}/members/{bob.id}", 204)
    device.wait_for("member.removed", lambda data: data["room_id"] == rid)
    a2, a3 = alice.send(rid, "two"), alice.send(rid, "three")
    q1 = alice.send(other["id"], "still here?")
    device.wait_for("message.created", lambda data: data["id"] == q1["id"])
    assert device.summaries(rid) == [
        ("message.created", a1["id"], "one", False),
        ("member.removed", bob.username, "member"),
    ]
    bob.call("GET", f"/api/v1/rooms/{rid}/messages", 404)

    alice.call("POST", f"/api/v1/rooms/{rid}/members", 201, json={"username": bob.username})
    a4 = alice.send(rid, "four")
    device.wait_for("message.created", lambda data: data["id"] == a4["id"])
    live = [
        ("message.created", a1["id"], "one", False),
        ("member.removed", bob.username, "member"),
        ("message.created", q1["id"], "still here?", False),
        ("member.added", bob.username, "member"),
        ("message.created", a4["id"], "four", False),
    ]
    assert device.summaries() == live
    assert {a2["id"], a3["id"]}.isdisjoint(e.json().get("id") for e in device.stored())
    assert_strictly_increasing(device)

    # A replay from before the removal follows the same membership: not a word of what he missed.
    first_id = device.stored()[0].id
    again = scene.stream(bob, "bob-again", headers={"Last-Event-ID": first_id})
    again.wait_for("message.created", lambda data: data["id"] == a4["id"])
    assert again.summaries() == live[1:]
    assert ids_of(again.stored()) == ids_of(device.stored())[1:]

    # A deleted room's last word: its id.
    alice.call("DELETE", f"/api/v1/rooms/{rid}", 204)
    assert device.wait_for("room.deleted", lambda data: data["id"] == rid).json() == {"id": rid}
    assert device.summaries(rid)[-2:] == [("message.created", a4["id"], "four", False), ("room.deleted",)]


def test_unread_count_and_role_in_room_events_are_the_receiver_s(scene):
    alice, bob = scene.person("alice"), scene.person("bob")
    alice_stream, bob_stream = scene.stream(alice), scene.stream(bob)
    room = alice.create_room("ledger", [bob])
    rid, url = room["id"], f"/api/v1/rooms/{room['id']}"

    def is_room(data: dict[str, Any]) -> bool:
        return data["id"] == rid

    assert alice_stream.wait_for("room.created", is_room).json() == alice.call("GET", url)
    assert bob_stream.wait_for("room.created", is_room).json() == bob.call("GET", url)
    assert alice_stream.wait_for("room.created", is_room).json()["role"] == "owner"
    assert bob_stream.wait_for("room.created", is_room).json()["role"] == "member"

    b1, _, b3 = (bob.send(rid, f"note {i}") for i in (1, 2, 3))
    for device in (alice_stream, bob_stream):
        device.wait_for("message.created", lambda data: data["id"] == b3["id"])

    alice.call("PUT", f"{url}/read", json={"message_id": b1["id"]})
    read = alice_stream.wait_for("read.updated").json()
    assert read == {"room_id": rid, "last_read_message_id": b1["id"], "unread_count": 2}

    alice.call("PATCH", url, json={"name": "ledger 2"})
    for_alice = alice_stream.wait_for("room.updated", is_room).json()
    for_bob = bob_stream.wait_for("room.updated", is_room).json()
    assert (for_alice["unread_count"], for_alice["role"]) == (2, "owner")
    assert (for_bob["unread_count"], for_bob["role"]) == (0, "member")  # he wrote them: nothing unread
    assert for_alice == alice.call("GET", url)
    assert for_bob == bob.call("GET", url)

    alice.call("PUT", f"{url}/read", json={"message_id": b1["id"]})  # not forward: no event
    alice.call("PUT", f"{url}/read", json={"message_id": b3["id"]})
    alice_stream.wait_for("read.updated", lambda data: data["last_read_message_id"] == b3["id"])
    sentinel = alice.send(rid, "done")  # what she sends moves her marker too
    alice_stream.wait_for("read.updated", lambda data: data["last_read_message_id"] == sentinel["id"])
    bob_stream.wait_for("message.created", lambda data: data["id"] == sentinel["id"])
    reads = [e.json() for e in alice_stream.stored() if e.event == "read.updated"]
    assert reads == [
        {"room_id": rid, "last_read_message_id": b1["id"], "unread_count": 2},
        {"room_id": rid, "last_read_message_id": b3["id"], "unread_count": 0},
        {"room_id": rid, "last_read_message_id": sentinel["id"], "unread_count": 0},
    ]
    # bob never hears alice's read marker, only his own, moved by what he sent.
    assert [e.event for e in bob_stream.stored() if room_of(e) == rid] == [
        "member.added",
        "room.created",
        *["message.created", "read.updated"] * 3,
        "room.updated",
        "message.created",
    ]


def test_reaction_updated_reaches_each_member_with_their_own_me(scene):
    alice, bob = scene.person("alice"), scene.person("bob")
    rid = alice.create_room("reactions", [bob])["id"]
    message = alice.send(rid, "react to this")
    streams = {alice.id: scene.stream(alice), bob.id: scene.stream(bob)}
    url = f"/api/v1/rooms/{rid}/messages/{message['id']}"
    thumbs = f"{url}/reactions/%F0%9F%91%8D"

    def counted(n: int) -> Callable[[dict[str, Any]], bool]:
        return lambda data: data["reactions"] and data["reactions"][0]["count"] == n

    bob.call("PUT", thumbs, 201)
    for person in (alice, bob):
        heard = streams[person.id].wait_for("reaction.updated", counted(1)).json()
        assert heard == {
            "room_id": rid,
            "message_id": message["id"],
            "reactions": [{"emoji": "👍", "count": 1, "me": person is bob}],
        }
        assert heard["reactions"] == person.call("GET", url)["reactions"]
    alice.call("PUT", thumbs, 201)
    for person in (alice, bob):
        heard = streams[person.id].wait_for("reaction.updated", counted(2)).json()
        assert heard["reactions"] == [{"emoji": "👍", "count": 2, "me": True}]


# --- resuming ---------------------------------------------------------------------------------


def resume_point(how: str, event_id: int | str) -> dict[str, Any]:
    if how == "header":
        return {"headers": {"Last-Event-ID": str(event_id)}}
    return {"params": {"since": str(event_id)}}


@pytest.mark.parametrize("how", ["header", "query"])
def test_a_resumed_stream_replays_exactly_what_was_missed_then_goes_live(scene, how):
    alice, bob = scene.person("alice"), scene.person("bob")
    room = alice.create_room("diary", [bob])
    rid = room["id"]
    first = scene.stream(alice, "alice-1")
    m1, m2 = bob.send(rid, "m1"), bob.send(rid, "m2")
    last = first.wait_for("message.created", lambda data: data["id"] == m2["id"]).id
    assert first.summaries() == [
        ("message.created", m1["id"], "m1", False),
        ("message.created", m2["id"], "m2", False),
    ]
    first.close()

    m3, m4 = bob.send(rid, "m3"), bob.send(rid, "m4")
    bob.call("PATCH", f"/api/v1/rooms/{rid}/messages/{m3['id']}", json={"body": "m3!"})
    second = scene.stream(alice, "alice-2", **resume_point(how, last))
    second.wait_for("message.updated", lambda data: data["id"] == m3["id"])
    m5 = bob.send(rid, "m5")
    second.wait_for("message.created", lambda data: data["id"] == m5["id"])
    assert second.summaries() == [
        ("message.created", m3["id"], "m3", False),
        ("message.created", m4["id"], "m4", False),
        ("message.updated", m3["id"], "m3!", False),
        ("message.created", m5["id"], "m5", False),
    ]
    assert min(ids_of(second.stored())) > int(last)
    assert_strictly_increasing(second)
    assert second.response.headers["content-type"].startswith("text/event-stream")


@pytest.mark.parametrize("how", ["header", "query"])
def test_an_unknown_resume_point_gets_one_reset_then_only_live_events(scene, how):
    alice, bob = scene.person("alice"), scene.person("bob")
    room = alice.create_room("reset", [bob])
    bob.send(room["id"], "before")
    latest = alice.latest_event_id()
    device = scene.stream(alice, **resume_point(how, latest + 1_000_000))
    device.wait_for("reset")
    after = bob.send(room["id"], "after")
    device.wait_for("message.created", lambda data: data["id"] == after["id"])

    stored = device.stored()
    assert [(e.event, e.id) for e in stored] == [("reset", str(latest)), ("message.created", stored[1].id)]
    assert stored[0].json() == {"last_event_id": latest}
    assert int(stored[1].id) > latest


def test_a_stream_refuses_a_bad_resume_point(scene):
    alice = scene.person("alice")
    for params, headers, where, name in [
        ({"since": "-1"}, {}, "query", "since"),
        ({"since": "abc"}, {}, "query", "since"),
        ({}, {"Last-Event-ID": "-5"}, "headers", "Last-Event-ID"),
        ({}, {"Last-Event-ID": "later"}, "headers", "Last-Event-ID"),
        ({}, {"Last-Event-ID": str(2**63)}, "headers", "Last-Event-ID"),  # past 64 bits
        ({}, {"Last-Event-ID": "7.5"}, "headers", "Last-Event-ID"),
    ]:
        response = refused(alice.http, params=params, headers=headers)
        assert name in assert_error(response, 422)["errors"][where], (params, headers)


# --- authentication ---------------------------------------------------------------------------


def test_a_stream_ticket_opens_one_stream_once_and_a_token_in_the_url_opens_none(scene):
    alice, bob = scene.person("alice"), scene.person("bob")
    room = alice.create_room("tickets", [bob])
    answer = alice.call("POST", f"{EVENTS}/ticket")
    assert set(answer) == {"ticket", "expires_in"} and answer["expires_in"] == 60

    device = scene.stream(None, "alice-by-ticket", params={"ticket": answer["ticket"]})
    message = bob.send(room["id"], "heard through a ticket")
    device.wait_for("message.created", lambda data: data["id"] == message["id"])
    assert device.summaries(room["id"]) == [
        ("message.created", message["id"], "heard through a ticket", False)
    ]

    with scene.client() as anonymous:
        for params in (
            {"ticket": answer["ticket"]},  # used up
            {"ticket": "not-a-ticket"},
            {"access_token": alice.token},
        ):
            response = refused(anonymous, params=params)
            assert_error(response, 401)
            assert response.headers["WWW-Authenticate"].startswith("Bearer"), params
        response = refused(anonymous)
        assert_error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert_error(anonymous.post(f"{EVENTS}/ticket"), 401)

    with scene.client(scene.token(alice, "users:read")) as reader:
        assert_error(refused(reader), 403)
        assert_error(reader.post(f"{EVENTS}/ticket"), 403)
        assert_error(reader.get(POLL, params={"timeout": 0}), 403)
    narrow = scene.client(scene.token(alice, "messages:read"))
    with narrow, connect_sse(narrow, "GET", EVENTS) as source:
        assert source.response.status_code == 200


# --- long-polling -----------------------------------------------------------------------------


def poll(person: Person, **params: Any) -> dict[str, Any]:
    """One long-poll; presence changes of people in `general` from other tests are skipped."""
    while True:
        answer = person.call("GET", POLL, params=params)
        events = [e for e in answer["events"] if e["type"] != "presence.updated"]
        if events or not answer["events"] or params.get("timeout") == 0 or "since" not in params:
            return {**answer, "events": events}
        params = {**params, "since": answer["last_event_id"]}  # only presence came: ask again


def later(seconds: float, action: Callable[[], Any]) -> threading.Thread:
    def run() -> None:
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_long_poll_answers_at_once_waits_for_the_next_event_or_times_out_empty(scene):
    alice, bob, carol = scene.person("alice"), scene.person("bob"), scene.person("carol")
    room = alice.create_room("poll", [bob])
    rid = room["id"]
    start = poll(alice, timeout=0)
    assert start["events"] == [] and isinstance(start["last_event_id"], int)

    m1 = bob.send(rid, "waiting for you")
    answer = poll(alice, since=start["last_event_id"], timeout=30)  # would take 30 s if it waited
    assert answer == {
        "events": [{"id": answer["last_event_id"], "type": "message.created", "data": m1}],
        "last_event_id": answer["last_event_id"],
    }
    assert answer["last_event_id"] > start["last_event_id"]
    # carol, in no room with them, finds nothing there.
    assert poll(carol, since=start["last_event_id"], timeout=0)["events"] == []

    # Nothing waiting: the answer is the first event to come.
    since = answer["last_event_id"]
    posting = later(0.5, lambda: bob.send(rid, "here it comes"))
    waited = poll(alice, since=since, timeout=30)
    posting.join()
    assert [(e["type"], e["data"]["body"]) for e in waited["events"]] == [
        ("message.created", "here it comes")
    ]
    assert waited["last_event_id"] == waited["events"][0]["id"] > since

    # Ephemeral events come too, without an id; the position stays at the newest stored event.
    # Said again until heard: a `typing` that falls between two polls (the helper polls again
    # after a presence batch) is gone, being ephemeral. Spaced past the one-a-second throttle.
    heard = threading.Event()
    typing = threading.Thread(
        target=lambda: [
            bob.call("POST", f"/api/v1/rooms/{rid}/typing", 204) for _ in iter(lambda: heard.wait(1.1), True)
        ],
        daemon=True,
    )
    typing.start()
    typed = poll(alice, since=waited["last_event_id"], timeout=30)
    heard.set()
    typing.join()
    assert [(e["id"], e["type"], e["data"]["room_id"]) for e in typed["events"]] == [(None, "typing", rid)]
    assert typed["last_event_id"] == alice.latest_event_id()  # past bob's own read marker

    # Nothing comes: an empty answer after the timeout, with the position to resume from.
    quiet = poll(alice, since=typed["last_event_id"], timeout=1)
    assert quiet == {"events": [], "last_event_id": typed["last_event_id"]}

    # A position that names no stored event: one reset to the newest.
    latest = alice.latest_event_id()
    reset = poll(alice, since=latest + 1_000_000, timeout=30)
    assert reset == {
        "events": [{"id": latest, "type": "reset", "data": {"last_event_id": latest}}],
        "last_event_id": latest,
    }


def test_a_long_poll_refuses_bad_parameters_and_callers(scene):
    alice = scene.person("alice")
    for params, name in [
        ({"timeout": 61}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": "soon"}, "timeout"),
        ({"since": -1, "timeout": 0}, "since"),
        ({"since": "x", "timeout": 0}, "since"),
    ]:
        response = alice.http.get(POLL, params=params)
        assert name in assert_error(response, 422)["errors"]["query"], params
    assert alice.call("GET", POLL, params={"timeout": 60, "since": alice.latest_event_id() - 1})["events"]
    with scene.client() as anonymous:
        response = anonymous.get(POLL, params={"timeout": 0})
        assert_error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


# --- the wire ---------------------------------------------------------------------------------


def test_an_idle_stream_starts_with_retry_and_carries_keep_alive_comments(scene):
    alice = scene.person("alice")
    device = scene.stream(alice, raw=True)
    headers = device.response.headers
    assert headers["content-type"].split(";")[0] == "text/event-stream"
    assert headers["cache-control"] == "no-cache"
    assert headers["x-accel-buffering"] == "no"

    lines = device.wait_for_lines(lambda lines: lines.count(": keep-alive") >= 2, "two keep-alives")
    assert lines[:2] == ["retry: 3000", ""]
    for at, line in enumerate(lines):
        if line.startswith(":"):
            assert line == ": keep-alive"
            assert lines[at + 1] == ""  # a comment frame of its own
    # Between the keep-alives, nothing but presence (hers, and of people leaving `general`): she is idle.
    assert {field_of(f, "event") for f in frames(lines[2:]) if f[0] != ": keep-alive"} <= {"presence.updated"}


# --- ephemeral events -------------------------------------------------------------------------


def test_typing_reaches_the_room_s_members_without_an_id_and_is_never_replayed(scene):
    alice, bob, carol = scene.person("alice"), scene.person("bob"), scene.person("carol")
    room = alice.create_room("typing", [bob])
    elsewhere = alice.create_room("elsewhere", [carol])
    rid = room["id"]
    before = alice.latest_event_id()
    bob_stream = scene.stream(bob, raw=True)
    carol_stream = scene.stream(carol)

    def bob_frames() -> list[list[str]]:
        return [
            f for f in frames(bob_stream.lines()) if field_of(f, "event") not in (None, "presence.updated")
        ]

    def has_body(body: str) -> Callable[[list[str]], bool]:
        return lambda lines: f'"body":"{body}"' in "".join(lines)

    alice.send(rid, "m1")
    bob_stream.wait_for_lines(has_body("m1"), "m1")
    alice.call("POST", f"/api/v1/rooms/{rid}/typing", 204)
    bob_stream.wait_for_lines(lambda lines: "event: typing" in lines, "typing")
    alice.send(rid, "m2")
    bob_stream.wait_for_lines(has_body("m2"), "m2")

    assert [field_of(f, "event") for f in bob_frames()] == ["message.created", "typing", "message.created"]
    typing = bob_frames()[1]
    assert field_of(typing, "id") is None
    assert [line.split(":")[0] for line in typing] == ["event", "data"]
    assert data_of(typing) == {
        "room_id": rid,
        "user": {"id": alice.id, "username": alice.username, "display_name": None},
        "expires_in": 6,
    }

    # carol is not in the room: the typing she gets next is the one in her own room with alice.
    alice.call("POST", f"/api/v1/rooms/{elsewhere['id']}/typing", 204)
    heard = carol_stream.wait_for("typing")
    assert heard.json()["room_id"] == elsewhere["id"]
    assert [e.json()["room_id"] for e in carol_stream.events() if e.event == "typing"] == [elsewhere["id"]]

    # A replay has the stored events only.
    bob_stream.close()
    replayed = scene.stream(bob, "bob-replayed", raw=True, headers={"Last-Event-ID": str(before)})
    alice.send(rid, "m3")
    replayed.wait_for_lines(has_body("m3"), "m3")
    shown = [f for f in frames(replayed.lines()) if field_of(f, "event") not in (None, "presence.updated")]
    assert [(field_of(f, "event"), data_of(f)["body"]) for f in shown] == [
        ("message.created", "m1"),
        ("message.created", "m2"),
        ("message.created", "m3"),
    ]
    assert all(field_of(f, "id") is not None for f in shown)


def test_typing_arrives_within_half_a_second_and_more_than_one_a_second_per_room_is_dropped(scene):
    alice, bob = scene.person("alice"), scene.person("bob")
    rid, other = (alice.create_room(name, [bob])["id"] for name in ("throttled", "beside"))
    bob_stream = scene.stream(bob)

    def typed(room_id: int) -> int:
        return sum(1 for e in bob_stream.events() if e.event == "typing" and e.json()["room_id"] == room_id)

    first = time.monotonic()
    alice.call("POST", f"/api/v1/rooms/{rid}/typing", 204)
    bob_stream.wait_for("typing", lambda data: data["room_id"] == rid, timeout=0.5)
    assert time.monotonic() - first < 0.5
    alice.call("POST", f"/api/v1/rooms/{rid}/typing", 204)  # within the second: answered, dropped
    alice.call("POST", f"/api/v1/rooms/{other}/typing", 204)  # another room counts on its own
    bob_stream.wait_for("typing", lambda data: data["room_id"] == other)
    marker = alice.send(rid, "after the repeat")["id"]
    bob_stream.wait_for("message.created", lambda data: data["id"] == marker)
    assert (typed(rid), typed(other)) == (1, 1)

    time.sleep(max(0.0, first + 1.1 - time.monotonic()))
    alice.call("POST", f"/api/v1/rooms/{rid}/typing", 204)  # a second later: heard again
    bob_stream.wait_for("typing", lambda data: data["room_id"] == rid and typed(rid) == 2)


def announces(data: Any, user: Person, online: bool) -> bool:
    return any(item["user_id"] == user.id and item["online"] is online for item in data["users"])


def presence_items(device: Stream) -> list[dict[str, Any]]:
    return [item for e in device.events() if e.event == "presence.updated" for item in e.json()["users"]]


def test_presence_follows_a_user_s_first_and_last_stream_after_a_grace_period(scene):
    alice, bob, carol, dave = (scene.person(n) for n in ("alice", "bob", "carol", "dave"))
    alice.create_room("friends", [bob])
    carol.create_room("apart", [dave])
    general = next(r for r in carol.call("GET", "/api/v1/rooms") if r["kind"] == "public")
    carol.call(
        "DELETE", f"/api/v1/rooms/{general['id']}/members/me", 204
    )  # now she shares no room with alice
    profile = f"/api/v1/users/{alice.id}"
    assert bob.call("GET", profile)["presence"] == "offline"
    assert bob.call("GET", profile)["last_seen_at"] is None  # never seen

    bob_stream = scene.stream(bob)
    carol_stream = scene.stream(carol)

    def about(device: Stream, user: Person) -> list[bool]:
        return [item["online"] for item in presence_items(device) if item["user_id"] == user.id]

    phone = scene.stream(alice, "alice-phone")
    bob_stream.wait_for("presence.updated", lambda data: announces(data, alice, True))
    phone.wait_for("presence.updated", lambda data: announces(data, alice, True))
    shown = bob.call("GET", profile)
    assert shown["presence"] == "online" and shown["last_seen_at"] is not None
    assert carol.call("GET", profile)["presence"] == "online"  # a profile is public; the events are not

    laptop = scene.stream(alice, "alice-laptop")  # not her first stream: no news
    phone.close()
    assert bob.call("GET", profile)["presence"] == "online"
    laptop.close()
    tablet = scene.stream(alice, "alice-tablet")  # back within the grace period: no flicker
    time.sleep(1.5)
    assert bob.call("GET", profile)["presence"] == "online"
    tablet.close()
    closed = time.monotonic()
    assert bob.call("GET", profile)["presence"] == "online"  # for the grace period (1 s here)
    bob_stream.wait_for("presence.updated", lambda data: announces(data, alice, False))
    assert time.monotonic() - closed >= 0.9
    shown = bob.call("GET", profile)
    assert shown["presence"] == "offline" and shown["last_seen_at"] is not None
    assert about(bob_stream, alice) == [True, False]

    # carol hears herself and dave, with whom she shares a room, and never alice.
    scene.stream(dave)
    carol_stream.wait_for("presence.updated", lambda data: announces(data, dave, True))
    heard = [(item["user_id"], item["online"]) for item in presence_items(carol_stream)]
    assert heard == [(carol.id, True), (dave.id, True)]
    assert all(e.id == "" for e in carol_stream.events() if e.event == "presence.updated")
    assert all(set(item) == {"user_id", "online", "last_seen_at"} for item in presence_items(carol_stream))


def test_a_room_s_members_show_their_presence_and_filter_on_it(scene):
    alice, bob, carol = scene.person("alice"), scene.person("bob"), scene.person("carol")
    room = alice.create_room("who is here", [bob, carol])["id"]
    members = f"/api/v1/rooms/{room}/members"
    scene.stream(bob)

    def listed(query: str = "") -> list[tuple[int, str, bool]]:
        return [
            (m["user"]["id"], m["user"]["presence"], m["user"]["last_seen_at"] is not None)
            for m in carol.call("GET", members + query)
        ]

    assert listed() == [(alice.id, "offline", False), (bob.id, "online", True), (carol.id, "offline", False)]
    assert listed("?presence=online") == [(bob.id, "online", True)]
    assert [user_id for user_id, _, _ in listed("?presence=offline")] == [alice.id, carol.id]
    answer = carol.http.get(members, params={"presence": "away"})
    assert answer.status_code == 422 and "presence" in answer.json()["errors"]["query"]


def test_streams_that_come_and_go_leave_no_error_in_the_server_log(scene, parley):
    alice = scene.person("alice")
    ticket = alice.call("POST", f"{EVENTS}/ticket")["ticket"]
    by_token = scene.stream(alice)
    by_ticket = scene.stream(None, "by-ticket", params={"ticket": ticket})
    by_token.wait_for("presence.updated", lambda data: announces(data, alice, True))
    by_token.close()
    by_ticket.close()
    deadline = time.monotonic() + DEADLINE
    while alice.call("GET", f"/api/v1/users/{alice.id}")["presence"] != "offline":
        assert time.monotonic() < deadline, "alice still online after her streams closed"
        time.sleep(0.05)
    # The server has ended both streams; what it does on ending them follows within moments.
    deadline = time.monotonic() + 1
    while "Traceback" not in parley.service.output() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = parley.service.output()
    assert "Traceback" not in log, log[log.find("Traceback") - 300 :][:3000]
