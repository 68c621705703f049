"""The terminal client (`parley-chat`, parley_client.chat in the SDK's package) driven by Textual's own
harness against a live server: it logs in, lists rooms with unread counts, follows a room live, pages back
through history, sends, replies, resumes its event stream after a drop, starts a direct conversation and
accepts an invite, or asks to join when the invite needs approval."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tasks.client import SDK
from tests.concurrency import TIMES

# A client of the API, driven against a live server: CI runs it once, in the pass on PostgreSQL +
# Redis, to keep the two passes even.
pytestmark = pytest.mark.second_pass


@pytest.fixture
def chat(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """The terminal client's app module, with the user's config directory in a temporary folder."""
    monkeypatch.syspath_prepend(str(SDK))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    import parley_client.chat.app

    return parley_client.chat.app


async def until(pilot: Any, condition: Callable[[], bool], seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the terminal never showed it")


def lines(app: Any, selector: str) -> list[str]:
    return [str(label.content) for label in app.query(f"{selector} Label")]


async def say(pilot: Any, line: str) -> None:
    """Enter a line in the compose box (filled at once: typing it key by key costs a frame a key)."""
    compose = pilot.app.query_one("#compose")
    compose.focus()
    compose.value = line
    await pilot.press("enter")


def shows(app: Any, text: str) -> bool:
    return any(line.endswith(text) for line in lines(app, "#messages"))


def make_den(client: Any, alice: Any) -> int:
    """A private room of alice's, with bob in it: the room most tests follow."""
    room = client.post("/api/v1/rooms", json={"name": "den", "members": ["bob"]}, headers=alice.headers)
    assert room.status_code == 201, room.get_json()
    return room.get_json()["id"]


def history(client: Any, user: Any, room_id: int) -> list[dict[str, Any]]:
    return client.get(f"/api/v1/rooms/{room_id}/messages", headers=user.headers).get_json()


def notices(app: Any) -> list[str]:
    """The notifications the app shows now (Textual keeps them on the app, not in the DOM it tests)."""
    return [notification.message for notification in app._notifications]


async def logged_in(pilot: Any, user: Any) -> None:
    """Log in on the login screen with the password's Enter (a click could land before its layout)."""
    await until(pilot, lambda: pilot.app.screen.query("#password"))
    pilot.app.screen.query_one("#username").value = user.username
    password = pilot.app.screen.query_one("#password")
    password.value = user.password
    password.focus()
    await pilot.press("enter")
    await until(pilot, lambda: pilot.app.screen.query("#rooms ListItem"))  # the rooms' screen, filled


async def in_room(pilot: Any, user: Any, room_id: int, newest: str) -> None:
    """Logged in, with a room open once its newest message (the end of its line) shows."""
    await logged_in(pilot, user)
    await pilot.click(f"#room-{room_id}")
    await until(pilot, lambda: shows(pilot.app, newest))


def test_terminal_client_logs_in_follows_a_room_sends_replies_and_joins(
    chat: Any, live_server: str, client: Any, alice: Any, bob: Any, carol: Any, tmp_path: Path
) -> None:
    den = make_den(client, alice)
    for body in ("first", "second"):
        client.post(f"/api/v1/rooms/{den}/messages", json={"body": body}, headers=alice.headers)
    attic = client.post("/api/v1/rooms", json={"name": "attic"}, headers=alice.headers).get_json()["id"]
    invite = {"requires_approval": False}
    link = client.post(f"/api/v1/rooms/{attic}/invites", json=invite, headers=alice.headers).get_json()["url"]

    async def scenario() -> None:
        app = chat.ParleyChat(live_server)
        async with app.run_test(size=(120, 40)) as pilot:
            await logged_in(pilot, bob)
            await until(pilot, lambda: "den (2)" in lines(app, "#rooms"))
            tokens = tmp_path / "parley" / "tokens.json"
            assert stat.S_IMODE(tokens.stat().st_mode) == 0o600

            await pilot.click(f"#room-{den}")
            await until(pilot, lambda: shows(app, "alice: second"))
            client.post(f"/api/v1/rooms/{den}/messages", json={"body": "live hello"}, headers=alice.headers)
            await until(pilot, lambda: shows(app, "alice: live hello"))
            if os.environ.get("SCREENSHOTS_DIR"):  # the README's picture, once the room list is redrawn
                await until(pilot, lambda: "den" in lines(app, "#rooms"))
                app.save_screenshot("terminal-client.svg", os.environ["SCREENSHOTS_DIR"])

            await pilot.press(*"from the terminal", "enter")
            await until(pilot, lambda: history(client, alice, den)[-1]["body"] == "from the terminal")
            parent = history(client, alice, den)[-2]["id"]
            await say(pilot, f"/reply {parent} a reply")
            await until(pilot, lambda: history(client, alice, den)[-1]["body"] == "a reply")
            assert history(client, alice, den)[-1]["parent_id"] == parent

            # The connection drops; what is sent meanwhile arrives once the client resumes by event id.
            app.session.close_stream()
            client.post(f"/api/v1/rooms/{den}/messages", json={"body": "while away"}, headers=alice.headers)
            await until(pilot, lambda: shows(app, "alice: while away"))
            first = history(client, alice, den)[0]["id"]
            edit = {"body": "first, edited"}
            client.patch(f"/api/v1/rooms/{den}/messages/{first}", json=edit, headers=alice.headers)
            await until(pilot, lambda: shows(app, "alice: first, edited"))

            await say(pilot, f"/join {link}")
            await until(pilot, lambda: app.room_id == attic)
            assert client.get(f"/api/v1/rooms/{attic}", headers=bob.headers).status_code == 200

            def direct_rooms() -> list[int]:
                rooms = client.get("/api/v1/rooms", headers=carol.headers).get_json()
                return [room["id"] for room in rooms if room["kind"] == "direct"]

            await say(pilot, "/dm carol")
            await until(pilot, lambda: direct_rooms() == [app.room_id])

            # A message in a room not open shows as unread in the list at once.
            client.post(f"/api/v1/rooms/{den}/messages", json={"body": "elsewhere"}, headers=alice.headers)
            await until(pilot, lambda: "den (1)" in lines(app, "#rooms"))

    asyncio.run(scenario())


def test_terminal_client_refreshes_its_tokens_and_keeps_them_private(
    chat: Any, live_server: str, client: Any, bob: Any, tmp_path: Path
) -> None:
    from parley_client.chat.session import Session

    session = Session(live_server)
    session.login("bob", bob.password)
    first = dict(session.tokens)

    session.tokens["expires_at"] = time.time()  # about to lapse: refreshed before the request
    assert session.me().username == "bob"
    saved = Session.saved()
    assert saved is not None and saved.tokens["refresh_token"] != first["refresh_token"]
    assert stat.S_IMODE((tmp_path / "parley" / "tokens.json").stat().st_mode) == 0o600

    # Revoked early (or expired before its announced time): the 401 gets one refresh and a retry.
    revoked = {"token": saved.tokens["access_token"], "client_id": "documentation"}
    assert client.post("/auth/oauth2/revoke", data=revoked).status_code == 200
    assert saved.me().username == "bob"
    resaved = Session.saved()
    assert resaved is not None and resaved.tokens["access_token"] != revoked["token"]


def test_terminal_client_refreshes_once_when_its_threads_find_the_token_due_together(
    chat: Any, live_server: str, bob: Any
) -> None:
    from parley_client.chat.session import Session

    # The UI and the event stream's thread share one session: were each to refresh, all but the first
    # would present a used refresh token, and the server would revoke the whole chain.
    session = Session(live_server)
    session.login("bob", bob.password)
    session.tokens["expires_at"] = 0
    barrier = threading.Barrier(TIMES)

    def me(_: int) -> str:
        barrier.wait(timeout=10)
        return str(session.me().username)

    with ThreadPoolExecutor(TIMES) as threads:
        assert list(threads.map(me, range(TIMES))) == ["bob"] * TIMES
    session.refresh()  # the chain lives on


def test_terminal_client_asks_for_the_password_when_its_saved_tokens_are_dead(
    chat: Any, live_server: str, client: Any, bob: Any
) -> None:
    from parley_client.chat.session import Session

    # Expired, with a refresh token the server no longer knows (its user logged in again elsewhere
    # and that one was used up): the client cannot refresh, so it asks for the password again.
    session = Session(live_server)
    session.login("bob", bob.password)
    used = session.tokens["refresh_token"]
    session.refresh()
    stale = Session(live_server, {**session.tokens, "refresh_token": used, "expires_at": 0})

    async def scenario() -> None:
        app = chat.ParleyChat(live_server, stale)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, chat.LoginScreen))
            assert isinstance(app.screen, chat.LoginScreen)

            # A wrong password: the token endpoint's own words, and still the login screen.
            app.screen.query_one("#username").value = "bob"
            app.screen.query_one("#password").value = "not bob's password"
            await pilot.click("#login-button")
            refusal = app.screen.query_one("#login-error")
            await until(pilot, lambda: str(refusal.content).startswith("Could not log in"))
            assert str(refusal.content) == f"Could not log in: {wrong['error_description']}"
            assert isinstance(app.screen, chat.LoginScreen)

    wrong = {"grant_type": "password", "username": "bob", "password": "x" * 8, "client_id": "documentation"}
    wrong = client.post("/auth/oauth2/token", data=wrong).get_json()
    asyncio.run(scenario())


def kill_tokens(session: Any) -> None:
    """Logged in again elsewhere with the same refresh token: the session's one is used up, and its
    access token lapses; only the password brings it back."""
    used = session.tokens["refresh_token"]
    type(session)(session.server, dict(session.tokens)).refresh()
    session.tokens.update(refresh_token=used, expires_at=0)


def test_terminal_client_asks_for_the_password_when_its_tokens_die_while_it_runs(
    chat: Any, live_server: str, bob: Any
) -> None:
    from parley_client.chat.session import Session

    session = Session(live_server)
    session.login("bob", bob.password)

    async def scenario() -> None:
        app = chat.ParleyChat(live_server, session)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: session.stream_socket is not None)
            kill_tokens(session)  # the stream drops and cannot come back without the password
            session.close_stream()
            await until(pilot, lambda: isinstance(app.screen, chat.LoginScreen))

            await logged_in(pilot, bob)
            assert app.session is not session

    asyncio.run(scenario())


def test_terminal_client_asks_for_the_password_when_its_tokens_die_during_any_api_call(
    chat: Any, live_server: str, client: Any, alice: Any, bob: Any
) -> None:
    den = make_den(client, alice)
    for n in range(51):  # a page older than the one shown on opening, for Page Up
        client.post(f"/api/v1/rooms/{den}/messages", json={"body": f"m{n}"}, headers=alice.headers)

    async def scenario() -> None:
        app = chat.ParleyChat(live_server)
        async with app.run_test(size=(120, 40)) as pilot:

            async def dies_during(call: Callable[[], Any]) -> None:
                """Tokens dead (the stream still up), `call` makes an API call: the password is asked."""
                kill_tokens(app.session)
                await call()
                await until(pilot, lambda: isinstance(app.screen, chat.LoginScreen))
                await logged_in(pilot, bob)

            def alice_says_hello() -> Any:
                client.post(f"/api/v1/rooms/{den}/messages", json={"body": "hello"}, headers=alice.headers)
                return pilot.pause()

            await in_room(pilot, bob, den, "alice: m50")  # stays open across the logins below
            await dies_during(lambda: pilot.press("pageup"))  # older history
            await dies_during(lambda: say(pilot, "lost"))  # sending
            await until(pilot, lambda: app.session.stream_socket is not None)
            await dies_during(alice_says_hello)  # marking read what the stream brings
            await dies_during(lambda: pilot.press("ctrl+r"))  # the room list
            await dies_during(lambda: pilot.click(f"#room-{den}"))  # a room's history
            assert history(client, alice, den)[-1]["body"] == "hello"

    asyncio.run(scenario())


def test_terminal_client_reacts_to_the_highlighted_message_and_shows_others_reactions_live(
    chat: Any, live_server: str, client: Any, alice: Any, bob: Any
) -> None:
    den = make_den(client, alice)
    sent = [
        client.post(f"/api/v1/rooms/{den}/messages", json={"body": body}, headers=alice.headers)
        for body in "ab"
    ]
    first, second = (answer.get_json()["id"] for answer in sent)

    def reactions(message_id: int) -> list[tuple[str, int]]:
        message = client.get(f"/api/v1/rooms/{den}/messages/{message_id}", headers=alice.headers).get_json()
        return [(reaction["emoji"], reaction["count"]) for reaction in message["reactions"]]

    async def scenario() -> None:
        app = chat.ParleyChat(live_server)
        async with app.run_test(size=(120, 40)) as pilot:
            await in_room(pilot, bob, den, "alice: b")

            await say(pilot, "/react :tada:")  # nothing highlighted: the newest message
            await until(pilot, lambda: shows(app, "alice: b [:tada: 1]"))
            assert reactions(second) == [(":tada:", 1)]

            await pilot.click(f"#message-{first}")
            await say(pilot, "/react :thumbsup:")
            await until(pilot, lambda: reactions(first) == [(":thumbsup:", 1)])
            client.put(f"/api/v1/rooms/{den}/messages/{first}/reactions/:thumbsup:", headers=alice.headers)
            await until(pilot, lambda: shows(app, "alice: a [:thumbsup: 2]"))

            await say(pilot, "/react not-an-emoji")  # the server's refusal, in its words
            await until(pilot, lambda: refusal["message"] in notices(app))

    refusal = client.put(f"/api/v1/rooms/{den}/messages/{first}/reactions/not-an-emoji", headers=bob.headers)
    refusal = refusal.get_json()
    asyncio.run(scenario())


def test_terminal_client_says_it_is_typing_once_per_few_seconds_and_shows_who_else_is(
    chat: Any, live_server: str, client: Any, alice: Any, bob: Any
) -> None:
    den = make_den(client, alice)
    client.post(f"/api/v1/rooms/{den}/messages", json={"body": "hi"}, headers=alice.headers)
    announced: list[int] = []

    def count(response: Any) -> None:
        if response.request.url.path.endswith("/typing"):
            announced.append(response.status_code)

    async def scenario() -> None:
        app = chat.ParleyChat(live_server)
        async with app.run_test(size=(120, 40)) as pilot:
            await in_room(pilot, bob, den, "alice: hi")
            app.session.api.get_httpx_client().event_hooks["response"].append(count)
            await until(pilot, lambda: app.session.stream_socket is not None)

            await pilot.press(*"hello")
            assert announced == [204]  # one announcement for five keys
            client.post(f"/api/v1/rooms/{den}/typing", headers=alice.headers)
            await until(pilot, lambda: "alice" in str(app.query_one("#typing").content))
            assert str(app.query_one("#typing").content) == "alice typing…"  # bob's own is not shown
            await pilot.press("enter")
            await until(pilot, lambda: shows(app, "bob: hello"))

    asyncio.run(scenario())


def test_terminal_client_pages_back_through_older_history(
    chat: Any, live_server: str, client: Any, alice: Any, bob: Any
) -> None:
    den = make_den(client, alice)
    for n in range(53):  # one page of 50 is shown on opening; three are older than it
        client.post(f"/api/v1/rooms/{den}/messages", json={"body": f"m{n}"}, headers=alice.headers)

    async def scenario() -> None:
        app = chat.ParleyChat(live_server)
        async with app.run_test(size=(120, 40)) as pilot:
            await in_room(pilot, bob, den, "alice: m52")
            assert lines(app, "#messages")[0].endswith("alice: m3")

            await pilot.press("pageup")
            await until(pilot, lambda: shows(app, "alice: m0"))
            shown = [line.rsplit(" ", 1)[-1] for line in lines(app, "#messages")]
            assert shown == [f"m{n}" for n in range(53)]

            await pilot.press("pageup")  # nothing older: said so, nothing added
            await until(pilot, lambda: "No older messages" in notices(app))
            assert len(lines(app, "#messages")) == 53

    asyncio.run(scenario())


def test_terminal_client_asks_to_join_when_the_invite_needs_approval(
    chat: Any, live_server: str, client: Any, alice: Any, bob: Any
) -> None:
    attic = client.post("/api/v1/rooms", json={"name": "attic"}, headers=alice.headers).get_json()["id"]
    invite = client.post(
        f"/api/v1/rooms/{attic}/invites", json={"requires_approval": True}, headers=alice.headers
    )

    async def scenario() -> None:
        app = chat.ParleyChat(live_server)
        async with app.run_test(size=(120, 40)) as pilot:
            await logged_in(pilot, bob)
            await say(pilot, f"/join {invite.get_json()['code']}")
            await until(pilot, lambda: any(notice.startswith("Join request sent") for notice in notices(app)))
            assert app.room_id is None
            assert all(not line.startswith("attic") for line in lines(app, "#rooms"))

    asyncio.run(scenario())
    requests = client.get(f"/api/v1/rooms/{attic}/join-requests", headers=alice.headers).get_json()
    assert [(request["user"]["username"], request["status"]) for request in requests] == [("bob", "pending")]


def test_parley_chat_is_the_sdk_packages_console_script_and_python_m_of_it() -> None:
    project = tomllib.loads((SDK / "pyproject.toml").read_text())["project"]
    assert project["scripts"] == {"parley-chat": "parley_client.chat.app:main"}
    assert {requirement.split(">")[0] for requirement in project["optional-dependencies"]["chat"]} == {
        "textual",
        "httpx-sse",
    }

    ran = subprocess.run(
        [sys.executable, "-m", "parley_client.chat", "--help"],
        env={"PYTHONPATH": str(SDK), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("usage: parley-chat")
