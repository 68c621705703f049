"""The documentation: the OpenAPI document, Swagger UI served from this server and used in a real
browser, and the README's walk-through run as a newcomer would run it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask.testing import FlaskClient

from tests.browser import CHROMIUM, CHROMIUM_ARGS, chromium_or_skip
from tests.processes import ROOT, Processes, Service, wait_until
from tests.servers import start_parley

SCREENSHOT = Path("/tmp/swagger.png")
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
SIGN_UP = ("post", "/api/v1/users")
# The contract's scopes (docs/api.md), spelled out so that the test does not follow the code.
SCOPES = {
    "users:read",
    "users:write",
    "rooms:read",
    "rooms:write",
    "messages:read",
    "messages:write",
    "auth:read",
    "auth:write",
}
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js")
REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)""")


# --- the OpenAPI document ------------------------------------------------------------------------


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def deref(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow local `$ref`s (`#/components/...`) until a real object is reached."""
    seen = 0
    while "$ref" in node:
        assert node["$ref"].startswith("#/"), node["$ref"]
        target: Any = spec
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node, seen = target, seen + 1
        assert seen < 10, "a $ref cycle"
    return node


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], list[dict[str, Any]]]]:
    """(method, path, operation, parameters including the path item's) for every operation."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                parameters = [
                    deref(spec, p) for p in item.get("parameters", []) + operation.get("parameters", [])
                ]
                yield method, path, operation, parameters


def api_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], list[dict[str, Any]]]]:
    found = [op for op in operations(spec) if op[1].startswith("/api/v1/")]
    assert ("get", "/api/v1/users/me") in {(m, p) for m, p, _, _ in found}, "the document looks empty"
    return found


def error_schema_of(spec: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    response = deref(spec, response)
    return deref(spec, response["content"]["application/json"]["schema"])


def test_every_api_operation_but_sign_up_needs_an_oauth2_token_with_scopes(spec: dict[str, Any]) -> None:
    wrong = []
    for method, path, operation, _ in api_operations(spec):
        if (method, path) == SIGN_UP:
            continue
        security = operation.get("security", spec.get("security"))
        scopes = [scope for requirement in security or [] for scope in requirement.get("oauth2", [])]
        if not security or not all("oauth2" in r for r in security) or not scopes or set(scopes) - SCOPES:
            wrong.append(f"{method.upper()} {path}: {security}")
    assert wrong == []


def test_sign_up_needs_no_token(spec: dict[str, Any]) -> None:
    security = spec["paths"]["/api/v1/users"]["post"].get("security", spec.get("security"))
    assert security in (None, [], [{}])


def test_every_protected_operation_documents_401_and_403_as_api_errors(spec: dict[str, Any]) -> None:
    error = spec["components"]["schemas"]["Error"]
    missing = [
        f"{method.upper()} {path} {status}"
        for method, path, operation, _ in api_operations(spec)
        if (method, path) != SIGN_UP
        for status in ("401", "403")
        if status not in operation["responses"]
        or error_schema_of(spec, operation["responses"][status]) != error
    ]
    assert missing == []


def test_every_operation_with_a_path_parameter_documents_404(spec: dict[str, Any]) -> None:
    with_path_parameters = [
        (method, path, operation)
        for method, path, operation, parameters in api_operations(spec)
        if any(p["in"] == "path" for p in parameters)
    ]
    assert with_path_parameters, "expected /users/{user_id} and /auth/clients/{client_id} at least"
    assert [f"{m.upper()} {p}" for m, p, op in with_path_parameters if "404" not in op["responses"]] == []


def test_every_path_template_variable_is_a_documented_path_parameter(spec: dict[str, Any]) -> None:
    undocumented = [
        f"{method.upper()} {path}: {name}"
        for method, path, _, parameters in operations(spec)
        for name in re.findall(r"{(\w+)}", path)
        if not any(p["in"] == "path" and p["name"] == name and p.get("required") for p in parameters)
    ]
    assert undocumented == []


def test_every_operation_with_a_json_body_documents_422(spec: dict[str, Any]) -> None:
    with_json_bodies = [
        (method, path, operation)
        for method, path, operation, _ in operations(spec)
        if "application/json" in deref(spec, operation.get("requestBody", {})).get("content", {})
    ]
    assert with_json_bodies, "expected POST /api/v1/auth/clients at least"
    assert [f"{m.upper()} {p}" for m, p, op in with_json_bodies if "422" not in op["responses"]] == []


def test_the_error_schema_has_code_status_message_and_errors(spec: dict[str, Any]) -> None:
    error = spec["components"]["schemas"]["Error"]

    assert {"code", "status", "message", "errors"} <= set(error["properties"])
    assert error["properties"]["code"]["type"] == "integer"
    assert {"code", "status", "message"} <= set(error["required"])


def test_the_oauth2_scheme_is_a_password_flow_at_the_token_endpoint_with_every_scope(
    spec: dict[str, Any],
) -> None:
    scheme = spec["components"]["securitySchemes"]["oauth2"]

    assert scheme["type"] == "oauth2"
    password = scheme["flows"]["password"]
    assert password["tokenUrl"] == "/auth/oauth2/token"
    assert set(password["scopes"]) == SCOPES
    assert all(password["scopes"].values()), "every scope needs a description"


@pytest.mark.parametrize("status", ["400", "401"])
def test_the_token_endpoint_documents_oauth2_errors(spec: dict[str, Any], status: str) -> None:
    operation = spec["paths"]["/auth/oauth2/token"]["post"]

    schema = error_schema_of(spec, operation["responses"][status])

    assert {"error", "error_description"} <= set(schema["properties"])
    assert "error" in schema["required"]
    assert "code" not in schema["properties"]


def test_the_token_endpoint_documents_its_form_body(spec: dict[str, Any]) -> None:
    body = deref(spec, spec["paths"]["/auth/oauth2/token"]["post"]["requestBody"])

    assert "application/x-www-form-urlencoded" in body["content"]
    schema = deref(spec, body["content"]["application/x-www-form-urlencoded"]["schema"])
    assert {"grant_type", "username", "password", "client_id"} <= set(schema["properties"])


# --- Swagger UI ----------------------------------------------------------------------------------


def test_the_docs_page_refers_only_to_local_assets(client: FlaskClient) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)

    references = REFERENCE.findall(html)
    assert {name for name in ASSETS if any(r.endswith("/" + name) for r in references)} == set(ASSETS)
    assert [r for r in references if urlsplit(r).netloc or urlsplit(r).scheme] == []
    assert re.findall(r"https?://[^\s\"'<>]+", html) == [], "no URL to another host, in markup or script"
    for reference in references:
        asset = client.get(urljoin("http://localhost/api/v1/docs", reference))
        assert asset.status_code == 200, reference
        assert len(asset.data) > 0


def test_the_docs_page_pre_fills_the_documentation_client_id(client: FlaskClient) -> None:
    html = client.get("/api/v1/docs").get_data(as_text=True)

    assert re.search(r"""initOAuth\(\s*\{[^}]*clientId["']?\s*:\s*["']documentation["']""", html)


@pytest.mark.parametrize("name", ASSETS)
def test_the_swagger_ui_assets_are_served(client: FlaskClient, name: str) -> None:
    html = client.get("/api/v1/docs").get_data(as_text=True)
    url = next(r for r in REFERENCE.findall(html) if r.endswith("/" + name))

    response = client.get(url)

    assert response.status_code == 200
    assert response.mimetype is not None
    assert response.mimetype.endswith("css" if name.endswith(".css") else "javascript")
    assert len(response.data) > 10_000


# What the browser shows depends on the document and the answers' statuses, not on the engine under
# them (the API's own tests cover both): first pass only, like tests/test_swagger_ui.py.
@pytest.mark.engine_independent
def test_swagger_ui_logs_in_with_the_password_flow_and_calls_the_api(
    live_server: str, make_user: Any
) -> None:
    chromium_or_skip()
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright

    user = make_user("swagger_sam")
    origin = urlsplit(live_server).netloc
    elsewhere: list[str] = []
    expect.set_options(timeout=15_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        page.set_default_timeout(15_000)
        page.on("request", lambda r: elsewhere.append(r.url) if urlsplit(r.url).netloc != origin else None)
        try:
            page.goto(f"{live_server}/api/v1/docs")

            page.locator("button.authorize").first.click()
            dialog = page.locator(".modal-ux")
            expect(dialog).to_be_visible()
            # One section a flow (password, authorization code, client credentials): the password one.
            flow = dialog.locator(".auth-container").filter(has=page.locator("#client_id_password"))
            flow.locator("input[data-name=username]").fill(user.username)
            flow.locator("input[data-name=password]").fill(user.password)
            expect(flow.locator("input[data-name=clientId]")).to_have_value("documentation")
            expect(flow.locator("input[data-name=clientSecret]")).to_have_value("")
            flow.get_by_text("select all", exact=True).click()
            flow.locator("button.modal-btn.authorize").click()
            expect(dialog.get_by_role("heading", name="Authorized", exact=True).first).to_be_visible()
            expect(dialog.locator(".errors")).to_have_count(0)
            dialog.locator("button.btn-done").first.click()
            expect(dialog).to_have_count(0)

            operation = page.locator(".opblock-get").filter(
                has=page.locator('.opblock-summary-path[data-path="/api/v1/users/me"]')
            )
            operation.locator(".opblock-summary").click()
            operation.locator("button.try-out__btn").click()
            operation.locator("button.execute").click()
            response = operation.locator(".live-responses-table .response").first
            expect(response.locator(".response-col_status")).to_have_text("200")
            expect(response.locator(".response-col_description")).to_contain_text(
                f'"username": "{user.username}"'
            )
        finally:
            with contextlib.suppress(PlaywrightError):  # for a human to look at, pass or fail
                page.screenshot(path=str(SCREENSHOT), full_page=True)
            browser.close()
    assert [url for url in elsewhere if not url.startswith(("data:", "blob:"))] == [], (
        "Swagger UI must work offline"
    )


# --- the README's walk-through -------------------------------------------------------------------

README_SERVER = "http://127.0.0.1:8000"
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
HELLO = re.compile(r'"body":\s*"hello"')


def readme_walk_through() -> list[str]:
    """The README's shell blocks that talk to a running server, in the order a reader meets them."""
    blocks = [block for block in SH_BLOCK.findall((ROOT / "README.md").read_text()) if README_SERVER in block]
    assert blocks, "the README has no curl walk-through"
    return blocks


def answers(output: str) -> list[dict[str, Any]]:
    """The JSON documents curl printed, one after another."""
    decoder, found, index = json.JSONDecoder(), [], 0
    while index < len(output.rstrip()):
        if output[index].isspace():
            index += 1
            continue
        answer, index = decoder.raw_decode(output, index)
        found.append(answer)
    return found


def is_error(answer: dict[str, Any]) -> bool:
    return "error" in answer or answer.get("code", 0) >= 400


def test_the_readme_walk_through_works_with_each_block_in_a_fresh_shell(
    processes: Processes, server_database: str, tmp_path: Path
) -> None:
    parley = start_parley(processes, "parley", server_database)
    fresh_shell = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    streams = []
    for number, block in enumerate(readme_walk_through(), 1):
        command = ["sh", "-c", block.replace(README_SERVER, parley.url)]
        if "curl -N" in block:  # a terminal left open on the event stream
            stream = processes.start(f"readme-block-{number}", command, fresh_shell)

            def subscribed(started: Service = stream) -> bool:
                return "retry:" in started.output()

            wait_until(subscribed, stream, timeout=15)
            streams.append(stream)
            continue
        shell = subprocess.run(command, env=fresh_shell, capture_output=True, text=True, timeout=30)
        said = answers(shell.stdout)
        assert shell.returncode == 0 and said, f"block {number}: {shell.stdout}{shell.stderr}"
        assert [answer for answer in said if is_error(answer)] == [], f"block {number}"

    assert streams, "the walk-through shows the event stream"
    deadline = time.monotonic() + 15
    while not all(HELLO.search(s.output()) for s in streams) and time.monotonic() < deadline:
        time.sleep(0.2)
    for stream in streams:
        assert "event: message.created" in stream.output(), stream.output()[-2000:]
        assert HELLO.search(stream.output()), stream.output()[-2000:]


# --- the documentation stands alone --------------------------------------------------------------

# Names of documents that live beside the repository, not in it: the docs must not lean on them.
OUTSIDE = re.compile(r"\.\./shared|/work/|\b(?:STYLE|API|STACK-NOTES)\.md\b|STACK-NOTES")
MARKDOWN_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)")


def repository_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [ROOT / name for name in listed if (ROOT / name).is_file() and ROOT / name != Path(__file__)]


def test_nothing_in_the_repository_points_at_documents_outside_it() -> None:
    pointing_out = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in repository_files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert pointing_out == []


def test_every_relative_link_in_the_docs_reaches_a_file_of_the_repository() -> None:
    broken = []
    for path in repository_files():
        if path.suffix != ".md":
            continue
        for target in MARKDOWN_LINK.findall(path.read_text()):
            if urlsplit(target).scheme or target.startswith("#"):
                continue
            reached = (path.parent / target.split("#", 1)[0]).resolve()
            if not reached.is_relative_to(ROOT) or not reached.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert broken == []
