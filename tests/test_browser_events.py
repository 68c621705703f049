"""A real browser's `EventSource` on the event stream, authenticated by a stream ticket."""

from __future__ import annotations

from typing import Any

from tests.browser import CHROMIUM, CHROMIUM_ARGS, chromium_or_skip

# Runs in the page: a ticket with the bearer token, then EventSource, as the browser client does.
# A used ticket is refused, so on error it takes a new one and resumes from the last id it saw.
LISTEN = """async ([token, room]) => {
  window.heard = [];
  window.opened = 0;
  let last = null;
  const open = async () => {
    const headers = {Authorization: "Bearer " + token};
    const answer = await fetch("/api/v1/events/ticket", {method: "POST", headers});
    const {ticket} = await answer.json();
    const since = last === null ? "" : "&since=" + last;
    const source = new EventSource("/api/v1/events?ticket=" + encodeURIComponent(ticket) + since);
    source.addEventListener("open", () => { window.opened += 1; });
    source.addEventListener("message.created", (e) => {
      last = e.lastEventId;
      const message = JSON.parse(e.data);
      if (message.room_id === room) window.heard.push(message.body);
    });
    source.addEventListener("error", () => { source.close(); open(); });
    window.source = source;
  };
  await open();
}"""


def test_event_source_in_chromium_hears_messages_and_resumes_with_a_new_ticket(
    live_server: str, client: Any, alice: Any, bob: Any
) -> None:
    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    room = client.post("/api/v1/rooms", json={"name": "web", "members": ["bob"]}, headers=alice.headers)
    room_id = room.get_json()["id"]

    def say(body: str) -> None:
        sent = client.post(f"/api/v1/rooms/{room_id}/messages", json={"body": body}, headers=bob.headers)
        assert sent.status_code == 201

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{live_server}/healthz")  # the API's origin: no CORS in the way
            page.evaluate(LISTEN, [alice.token, room_id])
            page.wait_for_function("window.opened === 1")
            say("first")
            page.wait_for_function("window.heard.length === 1")

            page.evaluate("window.source.close()")  # the connection drops...
            say("while away")
            page.evaluate("window.source.dispatchEvent(new Event('error'))")  # ...the page reconnects
            say("back")
            page.wait_for_function("window.heard.length === 3")
            assert page.evaluate("window.heard") == ["first", "while away", "back"]
            assert page.evaluate("window.opened") == 2
        finally:
            browser.close()
