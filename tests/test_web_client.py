"""The browser client at `/`, used in a real browser as people would: sign up through the login
page, chat live with someone in another browser, switch rooms, sign out."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from app.extensions import database, db, jobs
from app.modules.scheduled.models import ScheduledMessage
from tests.bans import ban
from tests.browser import CHROMIUM, CHROMIUM_ARGS, chromium_or_skip

PASSWORD = "a long web password"
# axe-core 4.12.1 (MPL-2.0), vendored from the axe-playwright-python 0.1.8 wheel: no download at test time.
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
# A client of the API in a browser, as the terminal client is one in a terminal: what it shows does
# not hang on the engine under the API (whose own tests run on both), so CI runs it once, in the
# first pass, which the terminal client and Swagger UI would otherwise leave a minute shorter.
pytestmark = pytest.mark.first_pass


def accessibility_problems(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text())  # evaluated by the driver, so the page's CSP does not apply
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']}: {[node['target'] for node in violation['nodes']]}"
        for violation in results["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def look_at(page: Any, name: str) -> None:
    """Check a main screen with axe-core; keep a screenshot of it when SCREENSHOTS_DIR is set."""
    assert accessibility_problems(page) == [], name
    if directory := os.environ.get("SCREENSHOTS_DIR"):
        page.screenshot(path=str(Path(directory) / f"{name}.png"))


def test_the_page_and_its_modules_are_served_under_a_strict_policy(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    for asset in re.findall(r'(?:src|href)="(/web/[^"]+)"', page.get_data(as_text=True)):
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert served.headers["Cache-Control"] == "no-cache"  # revalidated by ETag, never stale
        assert client.get(asset, headers={"If-None-Match": served.headers["ETag"]}).status_code == 304


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_client(browser: Any, server: str, problems: list[str]) -> Any:
    """A fresh browser context at `/`: a signed-out person lands on the login page."""
    from playwright.sync_api import expect

    page = browser.new_context(viewport=DESKTOP).new_page()
    page.set_default_timeout(10_000)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{server}/")
    expect(page).to_have_url(re.compile(r"/auth/oauth2/authorize\?"))
    return page


def allow(page: Any, server: str, username: str, password: str = PASSWORD) -> Any:
    """Sign in on the login page and allow the web client: back in the app, the code gone from the URL."""
    from playwright.sync_api import expect

    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()
    assert page.url == f"{server}/"
    return page


def sign_up(browser: Any, server: str, username: str, problems: list[str], look: bool = False) -> Any:
    """A newcomer follows "Sign up" on the login page, which brings them back to it; with `look`,
    both pages are checked with axe-core on the way."""
    page = open_client(browser, server, problems)
    if look:
        look_at(page, "sign-in")
    page.get_by_role("link", name="Sign up").click()
    if look:
        look_at(page, "sign-up")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    return allow(page, server, username)


def said(page: Any) -> Any:
    """The messages of the open conversation."""
    return page.get_by_role("list", name="Messages").get_by_role("listitem")


def test_two_people_sign_up_chat_live_switch_rooms_and_sign_out(
    browser: Any, live_server: str, client: FlaskClient
) -> None:
    from playwright.sync_api import expect

    problems: list[str] = []
    ada = sign_up(browser, live_server, "ada_web", problems, look=True)
    grace = sign_up(browser, live_server, "grace_web", problems)
    grace_phone = allow(open_client(browser, live_server, problems), live_server, "grace_web")
    rooms = grace.get_by_role("navigation", name="Rooms")

    ada.get_by_role("button", name=re.compile("^general")).click()
    ada.get_by_label("Message", exact=True).fill("hello from ada")
    ada.get_by_label("Message", exact=True).press("Enter")
    expect(said(ada).filter(has_text="hello from ada")).to_be_visible()
    expect(rooms.get_by_role("button", name=re.compile("general.*1.*hello from ada"))).to_be_visible()

    unread_on_phone = grace_phone.get_by_role("navigation", name="Rooms").get_by_title("unread")
    expect(unread_on_phone).to_have_text("1")
    grace.get_by_role("button", name=re.compile("^general")).click()
    expect(said(grace).filter(has_text="hello from ada")).to_be_visible()
    expect(rooms.get_by_title("unread")).to_have_count(0)
    expect(unread_on_phone).to_have_count(0, timeout=2_000)  # read on one device, read on all

    grace.get_by_label("Find people").fill("ada")
    grace.get_by_role("button", name="Search").click()
    grace.get_by_role("button", name="Message ada_web").click()
    expect(grace.get_by_role("heading", name="ada_web")).to_be_visible()
    composer = grace.get_by_label("Message", exact=True)
    composer.fill("<b>not bold</b>")
    composer.press("Shift+Enter")
    composer.press_sequentially("see https://example.com/a?b=1")
    composer.press("Enter")

    direct = ada.get_by_role("button", name=re.compile("^grace_web"))
    expect(direct).to_be_visible()  # the new conversation arrives live
    direct.click()
    message = said(ada).filter(has_text="not bold")
    expect(message.locator(".body")).to_have_text("<b>not bold</b>\nsee https://example.com/a?b=1")
    expect(message.get_by_role("link")).to_have_attribute("href", "https://example.com/a?b=1")
    assert message.locator("b").count() == 0
    ada.get_by_role("button", name="Members").click()
    members = ada.get_by_role("region", name="Members").get_by_role("listitem")
    grace_there = members.filter(has_text="grace_web")
    expect(grace_there.get_by_role("img", name="online")).to_be_visible()
    look_at(ada, "conversation-desktop")
    ada.set_viewport_size(PHONE)
    look_at(ada, "conversation-phone")
    ada.get_by_role("button", name="Rooms", exact=True).click()
    look_at(ada, "rooms-phone")
    ada.set_viewport_size(DESKTOP)

    grace.get_by_label("Search messages").fill("hello")
    grace.get_by_role("button", name="Find").click()
    grace.get_by_role("button", name="general · ada_web: hello from ada").click()
    expect(grace.get_by_role("heading", name="general")).to_be_visible()

    ada.get_by_role("button", name=re.compile("^general")).click()
    expect(ada.get_by_role("heading", name="general")).to_be_visible()
    expect(said(ada).filter(has_text="hello from ada")).to_be_visible()

    token = ada.evaluate("JSON.parse(sessionStorage.getItem('parley.tokens')).access")
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert not ada.context.cookies()  # tokens never live in a cookie
    ada.get_by_role("button", name="Sign out").click()
    expect(ada.get_by_text("You are signed out.", exact=True)).to_be_visible()  # once the server said so
    look_at(ada, "signed-out")
    assert ada.evaluate("sessionStorage.getItem('parley.tokens')") is None
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert problems == []


def test_a_refused_sign_in_then_a_long_conversation_opens_on_its_newest_messages_and_loads_older_ones(
    browser: Any, live_server: str, client: FlaskClient, alice: Any
) -> None:
    from playwright.sync_api import expect

    room = client.post("/api/v1/rooms", json={"name": "history"}, headers=alice.headers).get_json()
    messages = f"/api/v1/rooms/{room['id']}/messages"
    for n in range(1, 46):
        sent = client.post(messages, json={"body": f"line {n}"}, headers=alice.headers)
        assert sent.status_code == 201

    problems: list[str] = []
    page = open_client(browser, live_server, problems)
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("alert")).to_be_visible()
    look_at(page, "sign-in-refused")
    problems.clear()  # Chromium logs the refused sign-in's 400 itself
    allow(page, live_server, "alice", alice.password)
    marked: list[str] = []
    page.on("request", lambda request: marked.append(request.url) if request.url.endswith("/read") else None)
    with page.expect_response(re.compile(r"/read$")):
        page.get_by_role("button", name=re.compile("^history")).click()
    expect(said(page).last).to_have_text(re.compile("line 45"))
    expect(said(page)).to_have_count(30)
    assert len(marked) == 1, marked  # one page on screen, one move of the read marker
    page.get_by_role("list", name="Messages").evaluate("list => { list.scrollTop = 0; }")
    expect(said(page)).to_have_count(45)
    expect(said(page).first.locator(".body")).to_have_text("line 1")

    # A token a minute from expiry, as after an hour in the tab: refreshed before it runs out.
    tokens = "JSON.parse(sessionStorage.getItem('parley.tokens'))"
    first = page.evaluate(
        f"(() => {{ const t = {tokens}; t.expiresAt = Date.now() + 61_000;"
        f" sessionStorage.setItem('parley.tokens', JSON.stringify(t)); return t; }})()"
    )
    page.reload()
    page.wait_for_function(f"old => {tokens}.access !== old", arg=first["access"])
    fresh = page.evaluate(tokens)
    assert fresh["refresh"] != first["refresh"]  # rotated
    assert (
        client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {fresh['access']}"}).status_code
        == 200
    )
    assert problems == []


def test_a_dropped_network_loses_and_repeats_nothing_and_a_ban_says_until_when(
    browser: Any, live_server: str, app: Flask, client: FlaskClient, make_user: Any, alice: Any, bob: Any
) -> None:
    from playwright.sync_api import expect

    room = client.post("/api/v1/rooms", json={"name": "patchy", "members": ["bob"]}, headers=alice.headers)
    messages = f"/api/v1/rooms/{room.get_json()['id']}/messages"
    page = allow(open_client(browser, live_server, []), live_server, "bob", bob.password)
    page.get_by_role("button", name=re.compile("^patchy")).click()
    assert client.post(messages, json={"body": "said before"}, headers=alice.headers).status_code == 201
    expect(said(page).filter(has_text="said before")).to_have_count(1)  # the stream has an event id

    page.context.set_offline(True)
    assert client.post(messages, json={"body": "said while away"}, headers=alice.headers).status_code == 201
    page.get_by_label("Message", exact=True).fill("written offline")
    page.get_by_label("Message", exact=True).press("Enter")
    expect(page.get_by_role("alert")).to_have_text(re.compile("Not sent yet"))
    page.context.set_offline(False)

    expect(said(page).filter(has_text="written offline")).to_have_count(1)
    expect(said(page).filter(has_text="said while away")).to_have_count(1)
    expect(said(page)).to_have_count(3)
    stored = [m["body"] for m in client.get(messages, headers=alice.headers).get_json()]
    assert sorted(stored) == ["said before", "said while away", "written offline"]

    ban(app, client, make_user, bob)  # a refusal is said in words, and the text is kept
    page.get_by_label("Message", exact=True).fill("after the ban")
    page.get_by_label("Message", exact=True).press("Enter")
    refusal = re.compile(r"^Reports have stopped you posting until \d")
    expect(page.get_by_role("alert")).to_have_text(refusal)
    expect(page.get_by_label("Message", exact=True)).to_have_value("after the ban")
    topic = client.patch(messages.rsplit("/", 1)[0], json={"topic": "still patchy"}, headers=alice.headers)
    assert topic.status_code == 200
    expect(page.get_by_text("still patchy")).to_be_visible()  # a refresh in the background succeeded,
    expect(page.get_by_role("alert")).to_have_text(refusal)  # and the refusal stays until the next action

    token = page.evaluate("JSON.parse(sessionStorage.getItem('parley.tokens')).access")
    page.context.set_offline(True)  # a sign-out the server never hears of says so
    page.get_by_role("button", name="Sign out").click()
    unrevoked = re.compile(r"^You are signed out\. The server could not be reached")
    expect(page.get_by_text(unrevoked)).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('parley.tokens')") is None
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


# A PNG of one pixel.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def test_own_messages_are_edited_replied_to_carry_files_and_are_deleted(
    browser: Any, live_server: str, client: FlaskClient, alice: Any, bob: Any
) -> None:
    from playwright.sync_api import expect

    room = client.post("/api/v1/rooms", json={"name": "work", "members": ["bob"]}, headers=alice.headers)
    messages = f"/api/v1/rooms/{room.get_json()['id']}/messages"
    problems: list[str] = []
    page = allow(open_client(browser, live_server, problems), live_server, "bob", bob.password)
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=re.compile("^work")).click()
    composer = page.get_by_label("Message", exact=True)
    composer.fill("first draft")
    composer.press("Enter")

    draft = said(page).filter(has_text="first draft")
    draft.get_by_role("button", name="Edit").click()
    page.get_by_label("Edit message").fill("final text")
    (stored,) = client.get(messages, headers=alice.headers).get_json()
    assert client.put(f"{messages}/{stored['id']}/reactions/👍", headers=alice.headers).status_code == 201
    assert client.post(messages, json={"body": "meanwhile"}, headers=alice.headers).status_code == 201
    expect(said(page).filter(has_text="meanwhile")).to_be_visible()  # so the reaction came before
    expect(page.get_by_label("Edit message")).to_have_value("final text")  # the edit was kept
    page.get_by_role("button", name="Save").click()
    final = said(page).filter(has_text="final text")
    expect(final).to_contain_text("(edited)")
    expect(final.get_by_role("button", name="👍 1")).to_be_visible()
    stored = client.get(f"{messages}/{stored['id']}", headers=alice.headers).get_json()
    assert stored["body"] == "final text"

    final.get_by_role("button", name="Reply").click()
    expect(page.get_by_text("Replying to bob")).to_be_visible()
    composer.fill("my own reply")
    composer.press("Enter")
    final.get_by_role("button", name="Show 1 reply").click()
    replies = final.get_by_role("list", name="Replies").get_by_role("listitem")
    expect(replies).to_have_text([re.compile("my own reply")])
    reply = {"body": "alice agrees", "parent_id": stored["id"]}
    assert client.post(messages, json=reply, headers=alice.headers).status_code == 201
    expect(replies).to_have_count(2)  # live, in the open thread
    expect(final.get_by_role("button", name="Hide 2 replies")).to_be_visible()

    page.get_by_label("Attach a file").set_input_files(
        {"name": "dot.png", "mimeType": "image/png", "buffer": PIXEL}
    )
    expect(page.get_by_text("Attached: dot.png")).to_be_visible()
    composer.fill("a picture")
    composer.press("Enter")
    picture = said(page).filter(has_text="a picture")
    expect(picture.get_by_role("img", name="dot.png")).to_have_js_property("naturalWidth", 1)
    with page.expect_download() as download:
        picture.get_by_role("button", name=re.compile(r"^Download dot\.png")).click()
    assert download.value.suggested_filename == "dot.png"

    picture.get_by_role("button", name="Delete").click()
    expect(said(page).filter(has_text="This message was deleted.")).to_have_count(1)
    assert problems == []


def room_id(page: Any) -> int:
    """The open room, from the address bar (`#/rooms/{id}`)."""
    return int(page.evaluate("location.hash").rsplit("/", 1)[1])


def test_an_invite_link_that_needs_approval_brings_in_the_approved_guest_who_is_made_admin_then_removed(
    browser: Any, live_server: str, client: FlaskClient, make_user: Any, alice: Any, bob: Any
) -> None:
    from playwright.sync_api import expect

    problems: list[str] = []
    public = {"name": "plaza", "kind": "public"}
    assert client.post("/api/v1/rooms", json=public, headers=alice.headers).status_code == 201
    owner = allow(open_client(browser, live_server, problems), live_server, "alice", alice.password)
    owner.on("dialog", lambda dialog: dialog.accept())
    owner.get_by_text("New room").click()
    owner.get_by_label("Room name").fill("club")
    owner.get_by_role("button", name="Create room").click()
    expect(owner.get_by_role("heading", name="club")).to_be_visible()
    owner.get_by_role("button", name="Members").click()
    expect(owner.get_by_label("Joining needs approval")).to_be_checked()
    owner.get_by_role("button", name="Create an invite link").click()
    link = owner.get_by_role("link", name=re.compile("invites")).get_attribute("href")

    guest = allow(open_client(browser, live_server, problems), live_server, "bob", bob.password)
    guest.get_by_text("Browse public rooms").click()
    guest.get_by_role("button", name="Join plaza").click()
    expect(guest.get_by_role("heading", name="plaza")).to_be_visible()
    guest.goto(link)
    guest.get_by_role("button", name="Accept the invitation").click()
    expect(guest.get_by_text("Your request to join was sent")).to_be_visible()

    owner.get_by_role("button", name="Approve Bob").click()  # the request arrived live
    expect(owner.get_by_role("button", name="Approve Bob")).to_have_count(0)
    owner.get_by_label("Role of Bob").select_option("admin")
    expect(owner.get_by_label("Role of Bob")).to_be_enabled()  # busy while the change is saved
    expect(owner.get_by_label("Role of Bob")).to_have_value("admin")
    roles = client.get(f"/api/v1/rooms/{room_id(owner)}/members", headers=bob.headers).get_json()
    assert {m["user"]["username"]: m["role"] for m in roles} == {"alice": "owner", "bob": "admin"}
    expect(guest.get_by_role("heading", name="club")).to_be_visible()  # in, without reloading
    look_at(guest, "invited-guest-in-room")

    carol = make_user("carol", display_name="Carol")
    code = link.rsplit("/", 1)[1]
    assert client.post(f"/api/v1/invites/{code}/accept", headers=carol.headers).status_code == 202
    owner.get_by_role("button", name="Reject Carol").click()  # live too
    expect(owner.get_by_role("button", name="Reject Carol")).to_have_count(0)
    (request,) = client.get("/api/v1/join-requests", headers=carol.headers).get_json()
    assert request["status"] == "rejected"

    owner.get_by_role("button", name="Remove Bob").click()
    expect(guest.get_by_role("heading", name="Pick a room")).to_be_visible()  # out, live
    expect(
        guest.get_by_role("navigation", name="Rooms").get_by_role("button", name=re.compile("^club"))
    ).to_have_count(0)
    assert problems == []


def test_an_owner_changes_their_room_and_their_profile_then_deletes_their_account(
    browser: Any, live_server: str, client: FlaskClient, alice: Any, bob: Any
) -> None:
    from playwright.sync_api import expect

    room = client.post("/api/v1/rooms", json={"name": "draft", "members": ["bob"]}, headers=alice.headers)
    problems: list[str] = []
    page = allow(open_client(browser, live_server, problems), live_server, "alice", alice.password)
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=re.compile("^draft")).click()
    page.get_by_role("button", name="Members").click()
    page.get_by_label("Name", exact=True).fill("plans")
    page.get_by_label("Topic").fill("what comes next")
    page.get_by_label("Keep messages for").fill("60")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("heading", name="plans")).to_be_visible()
    expect(page.get_by_text("what comes next")).to_be_visible()
    seen_by_bob = client.get(f"/api/v1/rooms/{room.get_json()['id']}", headers=bob.headers).get_json()
    assert (seen_by_bob["name"], seen_by_bob["topic"], seen_by_bob["message_ttl_seconds"]) == (
        "plans",
        "what comes next",
        60,
    )
    page.clock.install()  # the page's own clock, to see a minute pass at once
    page.get_by_label("Message", exact=True).fill("gone soon")
    page.get_by_label("Message", exact=True).press("Enter")
    expect(said(page).filter(has_text="gone soon")).to_be_visible()
    page.clock.fast_forward("01:01")
    expect(said(page)).to_have_count(0)  # expired: no event says so, the page drops it by itself
    rooms = page.get_by_role("navigation", name="Rooms")
    expect(rooms.get_by_role("button", name=re.compile("^plans"))).to_contain_text("No messages yet")

    page.get_by_label("Role of Bob").select_option("owner")  # confirmed: handed over
    expect(page.get_by_role("region", name="Members").get_by_text("admin")).to_be_visible()
    expect(page.get_by_role("button", name="Delete this room")).to_be_hidden()
    members = client.get(f"/api/v1/rooms/{room.get_json()['id']}/members", headers=bob.headers).get_json()
    assert {m["user"]["username"]: m["role"] for m in members} == {"alice": "admin", "bob": "owner"}

    page.get_by_role("link", name="Signed in as Alice").click()
    page.get_by_label("Display name").fill("Alice Liddell")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("link", name="Signed in as Alice Liddell")).to_be_visible()
    page.get_by_label("Email", exact=True).fill("alice@example.com")
    page.get_by_role("button", name="Save profile").click()  # no current password
    expect(page.get_by_role("alert")).to_contain_text("password")
    assert [p for p in problems if "422" not in p] == []  # Chromium logs the refused request itself
    problems.clear()
    look_at(page, "profile")

    page.get_by_role("textbox", name="Password", exact=True).fill(alice.password)
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_text("Your account was deleted.")).to_be_visible()
    assert client.get("/api/v1/users/me", headers=alice.headers).status_code == 401
    # The deletion revokes every token at once: a reconnecting stream may meet a 401 first.
    assert [p for p in problems if "401" not in p] == []


def time_has_come(app: Flask) -> None:
    """Every scheduled message is due: the scheduler's jobs run once."""
    with app.app_context():
        db.session.execute(update(ScheduledMessage).values(send_at=database.utcnow()))
        db.session.commit()
        jobs.run_due()


def test_people_react_live_open_each_others_profiles_schedule_messages_and_manage_invite_links(
    browser: Any, live_server: str, app: Flask, client: FlaskClient, make_user: Any, alice: Any, bob: Any
) -> None:
    from playwright.sync_api import expect

    make_user("carol", display_name="Carol")
    room = client.post(
        "/api/v1/rooms", json={"name": "lounge", "members": ["bob", "carol"]}, headers=alice.headers
    ).get_json()
    messages = f"/api/v1/rooms/{room['id']}/messages"
    asked = client.post(messages, json={"body": "lunch at noon?"}, headers=alice.headers)
    assert asked.status_code == 201
    problems: list[str] = []
    owner = allow(open_client(browser, live_server, problems), live_server, "alice", alice.password)
    owner.on("dialog", lambda dialog: dialog.accept())
    guest = allow(open_client(browser, live_server, problems), live_server, "bob", bob.password)
    for page in (owner, guest):
        page.get_by_role("button", name=re.compile("^lounge")).click()

    question_here = said(guest).filter(has_text="lunch at noon?")
    question_here.get_by_text("React", exact=True).click()
    question_here.get_by_role("button", name="React with 🎉").click()
    expect(question_here.get_by_role("button", name="🎉 1")).to_have_attribute("aria-pressed", "true")
    question = said(owner).filter(has_text="lunch at noon?")
    expect(question.get_by_role("button", name="🎉 1")).to_have_attribute("aria-pressed", "false")  # live
    question.get_by_role("button", name="🎉 1").click()  # the chip adds mine
    expect(question.get_by_role("button", name="🎉 2")).to_have_attribute("aria-pressed", "true")
    expect(question_here.get_by_role("button", name="🎉 2")).to_have_attribute("aria-pressed", "true")
    question_here.get_by_role("button", name="🎉 2").click()  # and takes it back
    question.get_by_text("React", exact=True).click()
    eyes = client.put(f"{messages}/{asked.get_json()['id']}/reactions/👀", headers=bob.headers)
    assert eyes.status_code == 201
    expect(question.get_by_role("button", name="👀 1")).to_be_visible()  # redrawn live, the picker still open
    question.get_by_label("Other emoji").fill(":rocket:")
    question.get_by_role("button", name="Add").click()
    expect(question_here.get_by_role("button", name=":rocket: 1")).to_be_visible()
    expect(question.get_by_role("button", name="🎉 1")).to_have_attribute("aria-pressed", "true")
    expect(question_here.get_by_role("button", name="🎉 1")).to_have_attribute("aria-pressed", "false")
    (stored,) = client.get(messages, headers=bob.headers).get_json()
    assert stored["reactions"] == [
        {"emoji": "🎉", "count": 1, "me": False},
        {"emoji": "👀", "count": 1, "me": True},
        {"emoji": ":rocket:", "count": 1, "me": False},
    ]
    guest.get_by_label("Message", exact=True).press_sequentially("sure")
    expect(owner.get_by_text("Bob is typing…")).to_be_visible()

    question_here.get_by_role("button", name="Alice", exact=True).click()  # the author's name
    person = guest.get_by_role("dialog", name="Alice")
    expect(person).to_contain_text("Username: alice")
    expect(person).to_contain_text("Online now")
    look_at(guest, "their-profile")
    person.get_by_role("button", name="Close").click()
    expect(person).to_be_hidden()
    owner.get_by_role("button", name="Members").click()
    members = owner.get_by_role("region", name="Members").get_by_role("listitem")
    members.get_by_role("button", name="Carol", exact=True).click()
    expect(owner.get_by_role("dialog", name="Carol")).to_contain_text("Offline, not seen yet")
    owner.keyboard.press("Escape")
    renamed = client.patch("/api/v1/users/me", json={"display_name": "Robert"}, headers=bob.headers)
    assert renamed.status_code == 200
    expect(members.get_by_role("button", name="Robert", exact=True)).to_be_visible()  # live

    invites = owner.get_by_role("region", name="Invite links").get_by_role("listitem")
    owner.get_by_role("button", name="Create an invite link").click()
    expect(invites).to_have_count(1)
    link = invites.get_by_role("link").get_attribute("href")
    owner.context.grant_permissions(["clipboard-read", "clipboard-write"])
    invites.get_by_role("button", name="Copy").click()
    expect(invites.get_by_role("button", name="Copied")).to_be_visible()
    assert owner.evaluate("navigator.clipboard.readText()") == link
    made_elsewhere = client.post(
        f"/api/v1/rooms/{room['id']}/invites", json={"requires_approval": False}, headers=alice.headers
    ).get_json()
    other = invites.filter(has_text=f"{made_elsewhere['code'][:4]}…")
    expect(other).to_contain_text("joins at once")  # live, shown by its prefix: its code is not kept
    look_at(owner, "invite-links")
    other.get_by_role("button", name="Revoke").click()
    expect(invites).to_have_count(1)
    accepted = client.post(f"/api/v1/invites/{made_elsewhere['code']}/accept", headers=bob.headers)
    assert accepted.status_code == 404

    owner.get_by_label("Message", exact=True).fill("see you at lunch")
    owner.get_by_text("Send later").click()
    in_an_hour = owner.evaluate(
        "(() => { const d = new Date(Date.now() + 3_600_000 - new Date().getTimezoneOffset() * 60_000);"
        " return d.toISOString().slice(0, 16); })()"
    )
    owner.get_by_label("Send at").fill(in_an_hour)
    owner.get_by_role("button", name="Schedule").click()
    expect(owner.get_by_role("status").filter(has_text="Scheduled for")).to_be_visible()
    expect(owner.get_by_role("button", name="Send", exact=True)).to_be_visible()  # the next one goes now
    (pending,) = client.get("/api/v1/users/me/scheduled", headers=alice.headers).get_json()
    assert (pending["body"], pending["room_id"]) == ("see you at lunch", room["id"])
    owner.get_by_text("Scheduled messages", exact=True).click()
    waiting = owner.get_by_role("list", name="Scheduled messages").get_by_role("listitem")
    listed = waiting.filter(has_text="see you at lunch")
    expect(listed).to_contain_text("lounge")
    owner.set_viewport_size(PHONE)
    owner.get_by_role("button", name="Rooms", exact=True).click()
    look_at(owner, "scheduled-phone")
    listed.get_by_role("button", name="Cancel").click()
    expect(owner.get_by_text("Nothing is scheduled.")).to_be_visible()
    assert client.get("/api/v1/users/me/scheduled", headers=alice.headers).get_json() == []

    later = {"body": "lunch is ready", "send_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
    assert client.post(messages, json=later, headers=alice.headers).status_code == 202
    expect(waiting.filter(has_text="lunch is ready")).to_be_visible()  # live
    reply = {"body": "about that…", "parent_id": stored["id"], "send_at": later["send_at"]}
    assert client.post(messages, json=reply, headers=alice.headers).status_code == 202
    expect(waiting.filter(has_text="about that…")).to_be_visible()
    assert client.delete(f"{messages}/{stored['id']}", headers=alice.headers).status_code == 204
    time_has_come(app)
    expect(said(guest).filter(has_text="lunch is ready")).to_be_visible()
    failed = waiting.filter(has_text="about that…")
    expect(failed).to_contain_text("Not sent: the message it replied to was deleted.")  # live
    expect(waiting.filter(has_text="lunch is ready")).to_have_count(0)  # sent
    failed.get_by_role("button", name="Dismiss").click()
    expect(owner.get_by_text("Nothing is scheduled.")).to_be_visible()
    expect(said(guest).filter(has_text="see you at lunch")).to_have_count(0)
    assert problems == []
