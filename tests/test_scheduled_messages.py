"""Scheduled messages: `send_at` on POST /rooms/{id}/messages, /users/me/scheduled, the scheduler.

Time is controlled by the `clock` fixture: the scheduler and the scheduling rules read
`app.extensions.database.utcnow`, which it replaces.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import database, db, jobs
from app.modules.events.models import Event
from app.modules.scheduled import services as scheduled_services
from tests.assertions import assert_error, assert_invalid
from tests.bans import ban
from tests.conftest import PASSWORD
from tests.processes import Processes, wait_until
from tests.servers import start_parley
from tests.test_files import age_upload, uploaded

ROOMS = "/api/v1/rooms"
SCHEDULED = "/api/v1/users/me/scheduled"
FAST_TICKS = {"PARLEY_SCHEDULER_TICK": "0.2"}  # servers' scheduler: five ticks a second, not one


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def at(self, moment: datetime) -> None:
        self.now = moment


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(database, "utcnow", lambda: clock.now)
    return clock


@pytest.fixture
def lounge(client, alice, bob) -> int:
    response = client.post(ROOMS, headers=alice.headers, json={"name": "lounge", "members": ["bob"]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def schedule(client, user, room_id: int, send_at: datetime | str, body: str = "later", **fields: Any):
    when = send_at if isinstance(send_at, str) else send_at.isoformat()
    return client.post(
        f"{ROOMS}/{room_id}/messages", headers=user.headers, json={"body": body, "send_at": when, **fields}
    )


def scheduled_ok(client, user, room_id: int, send_at: datetime, **fields: Any) -> dict[str, Any]:
    response = schedule(client, user, room_id, send_at, **fields)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def history(client, user, room_id: int) -> list[dict[str, Any]]:
    response = client.get(f"{ROOMS}/{room_id}/messages", headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def my_scheduled(client, user, **query: Any) -> list[dict[str, Any]]:
    response = client.get(SCHEDULED, headers=user.headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def run_scheduler(app: Flask) -> dict[str, int | None]:
    with app.app_context():
        return jobs.run_due()


def scheduled_events(app: Flask) -> list[tuple[int | None, dict[str, Any]]]:
    with app.app_context():
        rows = db.session.scalars(select(Event).where(Event.type == "scheduled.updated").order_by(Event.id))
        return [(event.user_id, event.data) for event in rows]


# --- scheduling ------------------------------------------------------------------------------


def test_a_future_send_at_answers_202_with_the_pending_message(client, clock, alice, lounge):
    send_at = clock.now + timedelta(hours=1)
    body = scheduled_ok(client, alice, lounge, send_at, client_msg_id="c1")
    assert body["status"] == "pending"
    assert (body["room_id"], body["body"], body["parent_id"], body["failure_reason"]) == (
        lounge,
        "later",
        None,
        None,
    )
    assert datetime.fromisoformat(body["send_at"]) == send_at
    assert history(client, alice, lounge) == []


def test_a_scheduled_message_goes_out_at_its_time_and_not_before(app, client, clock, alice, bob, lounge):
    send_at = clock.now + timedelta(hours=1)
    pending = scheduled_ok(client, alice, lounge, send_at)
    clock.at(send_at - timedelta(seconds=1))
    run_scheduler(app)
    assert history(client, bob, lounge) == []
    clock.at(send_at)
    assert run_scheduler(app)["messages.publish_scheduled"] == 1
    [message] = history(client, bob, lounge)
    assert (message["body"], message["author"]["id"]) == ("later", alice.id)
    assert datetime.fromisoformat(message["send_at"]) == send_at
    assert my_scheduled(client, alice) == []
    assert_error(client.delete(f"{SCHEDULED}/{pending['id']}", headers=alice.headers), 404)
    with app.app_context():
        created = db.session.scalars(select(Event).where(Event.type == "message.created")).all()
    assert [event.data["id"] for event in created] == [message["id"]]


def test_an_ordinary_message_has_a_null_send_at(client, alice, lounge):
    response = client.post(f"{ROOMS}/{lounge}/messages", headers=alice.headers, json={"body": "now"})
    assert response.status_code == 201
    assert response.get_json()["send_at"] is None


def test_only_the_author_sees_their_scheduled_messages_page_by_page(client, clock, alice, bob, lounge):
    ids = [scheduled_ok(client, alice, lounge, clock.now + timedelta(minutes=n + 1))["id"] for n in range(3)]
    assert my_scheduled(client, bob) == []
    assert [item["id"] for item in my_scheduled(client, alice)] == ids
    response = client.get(SCHEDULED, headers=alice.headers, query_string={"limit": 2})
    assert [item["id"] for item in response.get_json()] == ids[1:]
    assert 'rel="prev"' in response.headers["Link"]
    assert [item["id"] for item in my_scheduled(client, alice, before=ids[1])] == ids[:1]
    assert [item["id"] for item in my_scheduled(client, alice, after=ids[0])] == ids[1:]


def test_a_repeated_client_msg_id_returns_the_same_pending_message(client, clock, alice, lounge):
    first = scheduled_ok(client, alice, lounge, clock.now + timedelta(hours=1), client_msg_id="once")
    again = schedule(client, alice, lounge, clock.now + timedelta(hours=2), client_msg_id="once")
    assert again.status_code == 200
    assert again.get_json() == first
    assert len(my_scheduled(client, alice)) == 1


def test_a_repeated_client_msg_id_after_sending_returns_the_message(app, client, clock, alice, lounge):
    send_at = clock.now + timedelta(hours=1)
    scheduled_ok(client, alice, lounge, send_at, client_msg_id="once")
    clock.at(send_at)
    run_scheduler(app)
    again = schedule(client, alice, lounge, send_at + timedelta(hours=1), client_msg_id="once")
    assert again.status_code == 200
    assert again.get_json()["id"] == history(client, alice, lounge)[0]["id"]
    assert my_scheduled(client, alice) == []


def test_a_past_or_too_distant_or_offsetless_send_at_is_422(app, client, clock, alice, lounge):
    assert_invalid(schedule(client, alice, lounge, clock.now - timedelta(seconds=1)), "json", "send_at")
    assert_invalid(schedule(client, alice, lounge, clock.now), "json", "send_at")
    horizon = timedelta(seconds=app.config["SCHEDULE_HORIZON_SECONDS"])
    assert_invalid(
        schedule(client, alice, lounge, clock.now + horizon + timedelta(seconds=1)), "json", "send_at"
    )
    assert_invalid(schedule(client, alice, lounge, "2030-01-01T10:00:00"), "json", "send_at")
    assert schedule(client, alice, lounge, clock.now + horizon).status_code == 202


def test_scheduling_needs_a_token_the_scope_and_membership(client, clock, alice, make_user, lounge):
    when = (clock.now + timedelta(hours=1)).isoformat()
    anonymous = client.post(f"{ROOMS}/{lounge}/messages", json={"body": "x", "send_at": when})
    assert_error(anonymous, 401)
    read_only = {"Authorization": f"Bearer {alice.token_with('messages:read')}"}
    assert_error(
        client.post(f"{ROOMS}/{lounge}/messages", headers=read_only, json={"body": "x", "send_at": when}), 403
    )
    assert_error(client.get(SCHEDULED), 401)
    assert_error(client.delete(f"{SCHEDULED}/1"), 401)
    stranger = make_user("carol")
    assert schedule(client, stranger, lounge, clock.now + timedelta(hours=1)).status_code in (403, 404)


def test_a_scheduled_reply_with_an_attachment_goes_out_carrying_both(app, client, clock, alice, bob, lounge):
    parent = client.post(
        f"{ROOMS}/{lounge}/messages", headers=alice.headers, json={"body": "first"}
    ).get_json()
    file_id = uploaded(client, bob)["id"]
    send_at = clock.now + timedelta(hours=1)
    pending = scheduled_ok(client, bob, lounge, send_at, parent_id=parent["id"], attachment_ids=[file_id])
    assert (pending["parent_id"], pending["attachment_ids"]) == (parent["id"], [file_id])
    clock.at(send_at)
    run_scheduler(app)
    reply = history(client, alice, lounge)[-1]
    assert (reply["parent_id"], [a["id"] for a in reply["attachments"]]) == (parent["id"], [file_id])


def test_an_upload_scheduled_days_ahead_outlives_the_purge_of_unattached_uploads(
    app, client, clock, alice, bob, lounge
):
    file_id = uploaded(client, bob)["id"]
    send_at = clock.now + timedelta(days=3)
    scheduled_ok(client, bob, lounge, send_at, attachment_ids=[file_id])
    age_upload(app, file_id, app.config["UNATTACHED_UPLOAD_TTL_SECONDS"] + 60)
    with app.app_context():
        assert jobs.run_all()["files.purge_unattached"] == 0
    clock.at(send_at)
    run_scheduler(app)
    assert my_scheduled(client, bob) == []
    assert [a["id"] for a in history(client, alice, lounge)[-1]["attachments"]] == [file_id]


def test_a_missing_parent_or_someone_elses_file_is_422_when_scheduling(client, clock, alice, bob, lounge):
    send_at = clock.now + timedelta(hours=1)
    assert_invalid(schedule(client, bob, lounge, send_at, parent_id=999_999), "json", "parent_id")
    alices = uploaded(client, alice)["id"]
    assert_invalid(schedule(client, bob, lounge, send_at, attachment_ids=[alices]), "json", "attachment_ids")
    assert my_scheduled(client, bob) == []


# --- cancelling --------------------------------------------------------------------------------


def test_a_cancelled_message_is_never_sent(app, client, clock, alice, bob, lounge):
    send_at = clock.now + timedelta(hours=1)
    pending = scheduled_ok(client, alice, lounge, send_at)
    assert_error(client.delete(f"{SCHEDULED}/{pending['id']}", headers=bob.headers), 404)
    assert client.delete(f"{SCHEDULED}/{pending['id']}", headers=alice.headers).status_code == 204
    clock.at(send_at + timedelta(minutes=1))
    run_scheduler(app)
    assert history(client, alice, lounge) == []
    assert my_scheduled(client, alice) == []
    assert [(user, data["status"]) for user, data in scheduled_events(app)] == [
        (alice.id, "pending"),
        (alice.id, "cancelled"),
    ]


# --- failures ----------------------------------------------------------------------------------


def fails_with(app, client, clock, author, send_at: datetime, reason: str) -> None:
    """At its time the message moves to `failed` with `reason`; its author sees it and hears it."""
    clock.at(send_at)
    run_scheduler(app)
    [failed] = my_scheduled(client, author)
    assert (failed["status"], failed["failure_reason"]) == ("failed", reason)
    assert scheduled_events(app)[-1] == (author.id, failed)


def test_it_fails_if_the_author_left_the_room(app, client, clock, alice, bob, lounge):
    send_at = clock.now + timedelta(hours=1)
    scheduled_ok(client, bob, lounge, send_at)
    assert client.delete(f"{ROOMS}/{lounge}/members/{bob.id}", headers=bob.headers).status_code == 204
    fails_with(app, client, clock, bob, send_at, "not_a_member")
    assert history(client, alice, lounge) == []


def test_it_fails_if_the_author_was_banned(app, client, clock, alice, bob, make_user, lounge):
    send_at = clock.now + timedelta(hours=1)
    scheduled_ok(client, bob, lounge, send_at)
    ban(app, client, make_user, bob)
    fails_with(app, client, clock, bob, send_at, "banned")
    assert history(client, alice, lounge) == []


def test_it_is_not_sent_once_the_account_is_deleted(app, client, clock, alice, bob, lounge):
    send_at = clock.now + timedelta(hours=1)
    scheduled_ok(client, bob, lounge, send_at)
    response = client.delete("/api/v1/users/me", headers=bob.headers, json={"current_password": PASSWORD})
    assert response.status_code == 204, response.get_json()
    clock.at(send_at)
    run_scheduler(app)
    assert history(client, alice, lounge) == []


def test_deleting_the_room_deletes_its_pending_messages(app, client, clock, alice, lounge):
    scheduled_ok(client, alice, lounge, clock.now + timedelta(hours=1))
    assert client.delete(f"{ROOMS}/{lounge}", headers=alice.headers).status_code == 204
    assert my_scheduled(client, alice) == []


# --- exactly once ------------------------------------------------------------------------------


def race(app: Flask, run: Callable[[], object], runners: int = 2) -> None:
    barrier = threading.Barrier(runners)

    def runner() -> None:
        with app.app_context():
            barrier.wait()
            run()
            db.session.remove()

    threads = [threading.Thread(target=runner) for _ in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.parametrize(
    "run", [jobs.run_due, scheduled_services.publish_due], ids=["scheduler", "publisher"]
)
def test_two_racing_schedulers_send_each_message_exactly_once(app, client, clock, alice, lounge, run):
    """With the lease (`run_due`) and without it (`publish_due` directly): the claim alone holds."""
    send_at = clock.now + timedelta(minutes=1)
    for number in range(5):
        scheduled_ok(client, alice, lounge, send_at, body=f"m{number}")
    clock.at(send_at)
    race(app, run)
    assert sorted(message["body"] for message in history(client, alice, lounge)) == [
        f"m{n}" for n in range(5)
    ]
    with app.app_context():
        assert len(db.session.scalars(select(Event).where(Event.type == "message.created")).all()) == 5


# --- a real server -----------------------------------------------------------------------------


@pytest.fixture
def server_processes(tmp_path) -> Iterator[Processes]:
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


def test_a_message_due_while_the_servers_were_down_goes_out_once_at_the_next_start(
    processes, server_processes, server_database
):
    """gunicorn (gevent workers, the scheduler inside each): two servers come back, one sends it."""
    first = start_parley(processes, "before", server_database, gunicorn=True)
    alice = first.sign_up("alice")
    with first.client(alice.token, timeout=10) as http:
        room_id = http.post("/api/v1/rooms", json={"name": "den"}).json()["id"]
        send_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
        answer = http.post(
            f"/api/v1/rooms/{room_id}/messages", json={"body": "wake", "send_at": send_at.isoformat()}
        )
        assert answer.status_code == 202, answer.text
    processes.stop_all()
    time.sleep(max(0.0, (send_at - datetime.now(UTC)).total_seconds()) + 0.5)
    with ThreadPoolExecutor(2) as pool:  # both at once, ticking every 0.2 s
        starting = [
            pool.submit(
                start_parley, server_processes, name, server_database, gunicorn=True, extra_env=FAST_TICKS
            )
            for name in ("after-1", "after-2")
        ]
        second = [started.result() for started in starting][1]
    with second.client(alice.token, timeout=10) as http:

        def sent() -> list[dict[str, Any]]:
            return http.get(f"/api/v1/rooms/{room_id}/messages").json()

        # Ready is not yet ticking: a worker's scheduler starts once it has booted, later on a busy machine.
        wait_until(lambda: bool(sent()), second.service)
        time.sleep(1)  # several more scheduler ticks of both servers: neither sends it again
        messages = sent()
        assert [message["body"] for message in messages] == ["wake"]
        assert datetime.fromisoformat(messages[0]["send_at"]) == send_at
        assert http.get("/api/v1/users/me/scheduled").json() == []
