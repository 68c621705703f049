"""The terminal client (clients/terminal, `parley-chat`) driven by Textual's own harness against a live
server: it logs in, lists rooms with unread counts, follows a room live, sends, replies, resumes its event
stream after a drop, starts a direct conversation and accepts an invite."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TERMINAL = Path(__file__).resolve().parent.parent / "clients" / "terminal"


@pytest.fixture
def chat(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """The parley_chat package, with the user's config directory in a temporary folder."""
    monkeypatch.syspath_prepend(str(TERMINAL))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    import parley_chat.app

    return parley_chat.app


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
    pilot.app.query_one("#compose").value = line
    await pilot.press("enter")


def shows(app: Any, text: str) -> bool:
    return any(line.endswith(text) for line in lines(app, "#messages"))


def history(client: Any, user: Any, room_id: int) -> list[dict[str, Any]]:
    return client.get(f"/api/v1/rooms/{room_id}/messages", headers=user.headers).get_json()


def test_terminal_client_logs_in_follows_a_room_sends_replies_and_joins(
    chat: Any, live_server: str, client: Any, alice: Any, bob: Any, carol: Any, tmp_path: Path
) -> None:
    room = client.post("/api/v1/rooms", json={"name": "den", "members": ["bob"]}, headers=alice.headers)
    den = room.get_json()["id"]
    for body in ("first", "second"):
        client.post(f"/api/v1/rooms/{den}/messages", json={"body": body}, headers=alice.headers)
    attic = client.post("/api/v1/rooms", json={"name": "attic"}, headers=alice.headers).get_json()["id"]
    invite = {"requires_approval": False}
    link = client.post(f"/api/v1/rooms/{attic}/invites", json=invite, headers=alice.headers).get_json()["url"]

    async def scenario() -> None:
        app = chat.ParleyChat(live_server)
        async with app.run_test(size=(120, 40)) as pilot:
            app.screen.query_one("#username").value = "bob"
            app.screen.query_one("#password").value = bob.password
            await pilot.click("#login-button")
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
    from parley_chat.session import Session

    session = Session(live_server)
    session.login("bob", bob.password)
    first = dict(session.tokens)

    session.tokens["expires_at"] = time.time()  # about to lapse: refreshed before the request
    assert session.me()["username"] == "bob"
    saved = Session.saved()
    assert saved is not None and saved.tokens["refresh_token"] != first["refresh_token"]
    assert stat.S_IMODE((tmp_path / "parley" / "tokens.json").stat().st_mode) == 0o600

    # Revoked early (or expired before its announced time): the 401 gets one refresh and a retry.
    revoked = {"token": saved.tokens["access_token"], "client_id": "documentation"}
    assert client.post("/auth/oauth2/revoke", data=revoked).status_code == 200
    assert saved.me()["username"] == "bob"
    assert Session.saved().tokens["access_token"] != revoked["token"]


def test_terminal_client_asks_for_the_password_when_its_saved_tokens_are_dead(
    chat: Any, live_server: str, bob: Any, tmp_path: Path
) -> None:
    from parley_chat.session import Session

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

    asyncio.run(scenario())
