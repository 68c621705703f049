"""Swagger UI's "Try it out", in a real browser, for every operation of the document: after the
Authorize dialog (password flow), each operation is opened, filled and executed as a reader would,
and the answer shown must be one the document promises (a 2xx on the happy path)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, chromium_or_skip

# What the browser shows depends on the document and the answers' statuses, not on the engine
# under them (the API's own tests cover both): about 100 s, so it runs once, in the second CI pass,
# which would otherwise end minutes before the first.
pytestmark = [pytest.mark.engine_independent, pytest.mark.second_pass]
SCREENSHOT = Path("/tmp/swagger-try-it-out.png")
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
# The event stream never ends: Swagger UI waits for the whole body, so it shows "Loading" forever.
# docs/api.md lists it under "Swagger UI".
NOT_TRIED = {"streamEvents"}
# Opening an operation costs Swagger UI's renderer seconds of CPU, and CI runs four test processes
# on two cores: a wait that holds on a quiet machine runs out on a busy one.
WAIT_MS = 30_000
Values = dict[str, Any]


@dataclass
class Try:
    """One operation to try: what to type into its fields, and whether it must succeed."""

    operation_id: str
    params: Callable[[Values], dict[str, Any]] = lambda _: {}
    body: Callable[[Values], Any] | None = None  # None: the example the document fills in
    form: Callable[[Values], dict[str, str]] | None = None
    upload: bool = False
    succeeds: bool = True
    keep: str | None = None  # remember the answer under this name


# In the order a reader would try them; the destructive ones last.
PLAN = [
    Try("getCurrentUser"),
    Try("updateCurrentUser", body=lambda v: {"display_name": "Sam from Swagger"}),
    Try("searchUsers", params=lambda v: {"q": v["bob"]}),
    Try("getUser", params=lambda v: {"user_id": v["bob_id"]}),
    Try(
        "createRoom",
        body=lambda v: {"name": "swagger-room", "topic": "tried out", "kind": "public"},
        keep="room",
    ),
    Try("listRooms"),
    Try("getRoom", params=lambda v: {"room_id": v["room"]["id"]}),
    Try("updateRoom", params=lambda v: {"room_id": v["room"]["id"]}, body=lambda v: {"topic": "tried"}),
    Try(
        "addRoomMember", params=lambda v: {"room_id": v["room"]["id"]}, body=lambda v: {"username": v["bob"]}
    ),
    Try("listRoomMembers", params=lambda v: {"room_id": v["room"]["id"]}),
    Try("getRoomMember", params=lambda v: {"room_id": v["room"]["id"], "user_ref": v["bob_id"]}),
    Try("updateRoomMember", params=lambda v: {"room_id": v["room"]["id"], "user_ref": v["bob_id"]}),
    Try("openDirectRoom", body=lambda v: {"username": v["bob"]}),
    Try("joinRoom", params=lambda v: {"room_id": v["room"]["id"]}),
    Try("uploadFile", upload=True, keep="file"),
    Try("downloadFile", params=lambda v: {"file_id": v["file"]["id"]}),
    Try(
        "sendMessage",
        params=lambda v: {"room_id": v["room"]["id"]},
        body=lambda v: {"body": "hello from Swagger UI", "attachment_ids": [v["file"]["id"]]},
        keep="message",
    ),
    Try("listRoomMessages", params=lambda v: {"room_id": v["room"]["id"]}),
    Try("getMessage", params=lambda v: {"room_id": v["room"]["id"], "message_id": v["message"]["id"]}),
    Try(
        "editMessage",
        params=lambda v: {"room_id": v["room"]["id"], "message_id": v["message"]["id"]},
        body=lambda v: {"body": "edited in Swagger UI"},
    ),
    Try(
        "listMessageReplies",
        params=lambda v: {"room_id": v["room"]["id"], "message_id": v["message"]["id"]},
    ),
    Try(
        "markRoomRead",
        params=lambda v: {"room_id": v["room"]["id"]},
        body=lambda v: {"message_id": v["message"]["id"]},
    ),
    Try(
        "addReaction",
        params=lambda v: {"room_id": v["room"]["id"], "message_id": v["message"]["id"], "emoji": "👍"},
    ),
    Try(
        "removeReaction",
        params=lambda v: {"room_id": v["room"]["id"], "message_id": v["message"]["id"], "emoji": "👍"},
    ),
    Try("announceTyping", params=lambda v: {"room_id": v["room"]["id"]}),
    Try("searchMessages", params=lambda v: {"q": "edited"}),
    Try("createInvite", params=lambda v: {"room_id": v["room"]["id"]}, keep="invite"),
    Try("listRoomInvites", params=lambda v: {"room_id": v["room"]["id"]}),
    Try("getInvite", params=lambda v: {"room_id": v["room"]["id"], "code": v["invite"]["code"]}),
    # The room's owner accepting their own invite: whatever the server says, it must be documented.
    Try("acceptInvite", params=lambda v: {"code": v["invite"]["code"]}, succeeds=False),
    Try("deleteInvite", params=lambda v: {"room_id": v["room"]["id"], "code": v["invite"]["code"]}),
    Try("listJoinRequests", params=lambda v: {"room_id": v["room"]["id"]}),
    Try(
        "approveJoinRequest",
        params=lambda v: {"room_id": v["room"]["id"], "request_id": 999_999},
        succeeds=False,
    ),
    Try(
        "rejectJoinRequest",
        params=lambda v: {"room_id": v["room"]["id"], "request_id": 999_999},
        succeeds=False,
    ),
    Try("listMyJoinRequests"),
    Try("listScheduledMessages"),
    Try("cancelScheduledMessage", params=lambda v: {"scheduled_id": 999_999}, succeeds=False),
    Try(
        "reportUser",
        params=lambda v: {"user_id": v["bob_id"]},
        body=lambda v: {"reason": "Tried out in Swagger UI"},
    ),
    Try("listReports", succeeds=False),  # for admins only: 403
    Try("liftBan", params=lambda v: {"user_id": v["bob_id"]}, succeeds=False),  # likewise
    Try("createClient", body=lambda v: {"name": "swagger-client", "confidential": True}, keep="client"),
    Try("listClients"),
    Try("getClient", params=lambda v: {"client_id": v["client"]["client_id"]}),
    Try("createStreamTicket"),
    Try("pollEvents", params=lambda v: {"timeout": 0}),
    Try(
        "issueToken",
        form=lambda v: {
            "grant_type": "password",
            "username": v["username"],
            "password": v["password"],
            "client_id": "documentation",
            "scope": "users:read",
        },
        keep="token",
    ),
    Try(
        "introspectToken",
        form=lambda v: {
            "token": v["token"]["access_token"],
            "client_id": v["client"]["client_id"],
            "client_secret": v["client"]["client_secret"],
        },
    ),
    Try("deleteClient", params=lambda v: {"client_id": v["client"]["client_id"]}),
    Try("revokeToken", form=lambda v: {"token": v["token"]["access_token"], "client_id": "documentation"}),
    Try("removeRoomMember", params=lambda v: {"room_id": v["room"]["id"], "user_ref": v["bob_id"]}),
    Try("deleteMessage", params=lambda v: {"room_id": v["room"]["id"], "message_id": v["message"]["id"]}),
    Try("deleteRoom", params=lambda v: {"room_id": v["room"]["id"]}),
    Try("signUp", body=lambda v: {"username": "swagger_newcomer", "password": "correct horse battery"}),
    Try("deleteCurrentUser", body=lambda v: {"current_password": v["password"]}),
]


def documented_statuses(spec: dict[str, Any]) -> dict[str, set[str]]:
    return {
        operation["operationId"]: set(operation["responses"]) - {"default"}
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def test_the_plan_tries_every_operation_of_the_document(client: Any) -> None:
    documented = documented_statuses(client.get("/api/v1/openapi.json").get_json())
    planned = [step.operation_id for step in PLAN]

    assert len(planned) == len(set(planned))
    assert set(planned) | NOT_TRIED == set(documented)


def test_try_it_out_works_for_every_operation_after_authorize(
    live_server: str, make_user: Any, client: Any
) -> None:
    chromium_or_skip()
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import FilePayload, Locator, Page, expect, sync_playwright

    documented = documented_statuses(client.get("/api/v1/openapi.json").get_json())
    user = make_user("swagger_sam")
    bob = make_user("swagger_bob")
    values: Values = {
        "username": user.username,
        "password": user.password,
        "bob": bob.username,
        "bob_id": bob.id,
    }
    expect.set_options(timeout=WAIT_MS)

    def authorize(page: Page) -> None:
        page.locator("button.authorize").first.click()
        dialog = page.locator(".modal-ux")
        flow = dialog.locator(".auth-container").filter(has=page.locator("#client_id_password"))
        flow.locator("input[data-name=username]").fill(user.username)
        flow.locator("input[data-name=password]").fill(user.password)
        flow.get_by_text("select all", exact=True).click()
        flow.locator("button.modal-btn.authorize").click()
        expect(dialog.get_by_role("heading", name="Authorized", exact=True).first).to_be_visible()
        dialog.locator("button.btn-done").first.click()
        expect(dialog).to_have_count(0)

    def fill(block: Locator, step: Try) -> None:
        for name, value in step.params(values).items():
            inputs = block.locator(f'tr[data-param-name="{name}"] input')
            inputs.first.wait_for()
            for index in range(inputs.count()):
                inputs.nth(index).fill(str(value))
        if step.body is not None:
            block.locator("textarea.body-param__text").fill(json.dumps(step.body(values)))
        if step.form is not None:
            # Swagger UI pre-fills every form field with "string": a reader empties the ones not needed.
            given = step.form(values)
            for row in block.locator("tr[data-property-name]").all():
                if (
                    row.get_attribute("data-property-name") not in given
                    and row.locator("select").count() == 0
                ):
                    row.locator("input:not([type=checkbox])").fill("")
            for name, value in given.items():
                row = block.locator(f'tr[data-property-name="{name}"]')
                if row.locator("select").count():
                    row.locator("select").select_option(value)
                else:
                    row.locator("input:not([type=checkbox])").fill(value)
        if step.upload:
            upload: FilePayload = {"name": "hello.txt", "mimeType": "text/plain", "buffer": b"hello, Swagger"}
            block.locator('tr[data-property-name="file"] input[type=file]').set_input_files(files=[upload])

    def execute(page: Page, step: Try) -> tuple[str, str]:
        block = page.locator(f'.opblock[id$="-{step.operation_id}"]')
        expect(block).to_have_count(1)
        block.locator(".opblock-summary").click()
        block.locator("button.try-out__btn").click()
        fill(block, step)
        block.locator("button.execute").click()
        status = block.locator(".live-responses-table .response .response-col_status").first
        status.wait_for()
        shown = block.locator(
            ".live-responses-table .response-col_description .microlight"
        ).first.inner_text()
        text = status.inner_text().strip()
        block.locator(".opblock-summary").click()  # closed again: the page stays short
        return text, shown

    failures: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        page.set_default_timeout(WAIT_MS)
        try:
            page.goto(f"{live_server}/api/v1/docs")
            authorize(page)
            for step in PLAN:
                status, shown = execute(page, step)
                allowed = documented[step.operation_id]
                if step.succeeds:
                    allowed = {code for code in allowed if code.startswith("2")}
                if status not in allowed:
                    failures.append(f"{step.operation_id}: {status} {shown[:300]!r}")
                elif step.keep:
                    values[step.keep] = json.loads(shown)
        finally:
            with contextlib.suppress(PlaywrightError):  # for a human to look at, pass or fail
                page.screenshot(path=str(SCREENSHOT), full_page=True)
            browser.close()
    assert failures == []
