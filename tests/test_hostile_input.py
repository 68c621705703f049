"""Input an attacker sends: every answer is a 4xx in the API's error shape, never a 500, and the
log gets one line for it, not a traceback.

Runs on SQLite and PostgreSQL (the `client` fixture's database): the two refuse different
things (an integer past 64 bits, NUL, a lone surrogate), and neither may decide the answer.
"""

from __future__ import annotations

import http.client
import io
import logging
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.assertions import assert_error, assert_invalid
from tests.conftest import basic, bearer
from tests.rooms import create_room_id

HUGE = "99999999999999999999"  # past 64 bits: SQLite cannot bind it, PostgreSQL has no such int


@pytest.fixture
def caplog_info(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO):
        yield caplog


def assert_logged_one_line(caplog: pytest.LogCaptureFixture) -> None:
    """What the request left in the log: its access line, no error, no traceback."""
    records = [r for r in caplog.records if r.name != "parley.access"]
    assert not [r for r in records if r.levelno >= logging.ERROR or r.exc_info], [
        r.getMessage()[:200] for r in records
    ]
    assert len([r for r in caplog.records if r.name == "parley.access"]) == 1


def send_raw_json(client, user, method: str, path: str, body: str):
    """Send `body` as written: JSON escapes such as `\\ud800` reach the server untouched."""
    return client.open(
        path, method=method, headers={**user.headers, "Content-Type": "application/json"}, data=body
    )


def general_room_id(client, user) -> int:
    rooms = client.get("/api/v1/rooms", headers=user.headers).get_json()
    return next(room["id"] for room in rooms if room["name"] == "general")


# --- integers past the database's range ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/rooms", "/api/v1/rooms?scope=public"])
@pytest.mark.parametrize("page", [HUGE, "-" + HUGE, str(2**31)])
def test_a_page_past_the_integer_range_is_a_422_naming_page(client, alice, caplog_info, path, page):
    separator = "&" if "?" in path else "?"
    response = client.get(f"{path}{separator}page={page}", headers=alice.headers)
    assert_invalid(response, "query", "page")
    assert_logged_one_line(caplog_info)


def test_the_largest_page_is_simply_empty(client, alice):
    response = client.get(f"/api/v1/users?page={2**31 - 1}", headers=alice.headers)
    assert response.status_code == 200
    assert response.get_json() == []


def test_the_openapi_document_states_the_page_bound(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    page = next(p for p in spec["paths"]["/api/v1/users"]["get"]["parameters"] if p["name"] == "page")
    assert page["schema"]["maximum"] == 2**31 - 1


def test_a_huge_integer_in_a_json_body_is_a_422_naming_the_field(client, alice, caplog_info):
    room = general_room_id(client, alice)
    caplog_info.clear()
    response = send_raw_json(client, alice, "PUT", f"/api/v1/rooms/{room}/read", f'{{"message_id": {HUGE}}}')
    assert_invalid(response, "json", "message_id")
    assert_logged_one_line(caplog_info)


@pytest.mark.parametrize("written", ["{}.5", "{}.0", '"{}"', "{}e0"])
@pytest.mark.parametrize("field", ["parent_id", "attachment_ids"])
def test_an_integer_field_of_a_json_body_takes_only_a_json_integer(
    client, alice, caplog_info, written, field
):
    room = general_room_id(client, alice)
    first = client.post(f"/api/v1/rooms/{room}/messages", json={"body": "first"}, headers=alice.headers)
    assert first.status_code == 201
    value = written.format(first.get_json()["id"])  # the first message's id, as a float or a string
    given = f"[{value}]" if field == "attachment_ids" else value
    caplog_info.clear()
    body = f'{{"body": "a reply to the first?", "{field}": {given}}}'
    response = send_raw_json(client, alice, "POST", f"/api/v1/rooms/{room}/messages", body)
    assert_invalid(response, "json", field)
    assert_logged_one_line(caplog_info)
    history = client.get(f"/api/v1/rooms/{room}/messages", headers=alice.headers).get_json()
    assert [message["body"] for message in history] == ["first"]


# --- deeply nested JSON ------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [40, 500, 1000, 30_000])
def test_deeply_nested_json_is_a_400(client, alice, caplog_info, depth):
    nested = "[" * depth + "]" * depth
    response = send_raw_json(
        client, alice, "POST", "/api/v1/rooms", f'{{"name": "deep", "members": {nested}}}'
    )
    assert "json" in assert_error(response, 400)["errors"]
    assert_logged_one_line(caplog_info)


def test_json_nested_as_deep_as_allowed_is_validated_as_usual(client, alice):
    nested = "[" * 30 + "]" * 30
    response = send_raw_json(
        client, alice, "POST", "/api/v1/rooms", f'{{"name": "deep", "members": {nested}}}'
    )
    assert_invalid(response, "json", "members")


# --- text no database can store -------------------------------------------------------------


@pytest.mark.parametrize("text", ["a\\ud800b", "a\\udfffb", "a\\u0000b"])
def test_a_lone_surrogate_or_nul_in_a_message_body_is_a_422_naming_body(client, alice, caplog_info, text):
    room = general_room_id(client, alice)
    caplog_info.clear()
    response = send_raw_json(client, alice, "POST", f"/api/v1/rooms/{room}/messages", f'{{"body": "{text}"}}')
    assert_invalid(response, "json", "body")
    assert_logged_one_line(caplog_info)
    assert client.get(f"/api/v1/rooms/{room}/messages", headers=alice.headers).get_json() == []


def test_a_lone_surrogate_in_a_display_name_is_a_422_naming_it(client, alice, caplog_info):
    response = send_raw_json(client, alice, "PATCH", "/api/v1/users/me", '{"display_name": "Al\\ud83dice"}')
    assert_invalid(response, "json", "display_name")
    assert_logged_one_line(caplog_info)


def test_a_surrogate_pair_is_an_ordinary_character(client, alice):
    response = send_raw_json(
        client, alice, "PATCH", "/api/v1/users/me", '{"display_name": "Alice \\ud83d\\ude00"}'
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["display_name"] == "Alice \U0001f600"


def test_a_nul_in_an_uploaded_file_name_is_a_422_naming_file(client, alice, caplog_info):
    response = client.post(
        "/api/v1/files",
        headers=alice.headers,
        data={"file": (io.BytesIO(b"hello"), "notes\x00.txt")},
        content_type="multipart/form-data",
    )
    assert_invalid(response, "files", "file")
    assert_logged_one_line(caplog_info)


# --- NUL where the database would compare it ----------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/rooms/{room}/invites/a%00b", "/api/v1/auth/clients/a%00b"])
def test_a_nul_in_a_path_segment_is_a_404(client, alice, caplog_info, path):
    room = create_room_id(client, alice)
    caplog_info.clear()
    assert_error(client.get(path.format(room=room), headers=alice.headers), 404)
    assert_logged_one_line(caplog_info)


PASSWORD_GRANT = {
    "grant_type": "password",
    "client_id": "documentation",
    "username": "alice",
    "password": "x" * 10,
}


@pytest.mark.parametrize(
    ("path", "form", "headers"),
    [
        ("/auth/oauth2/token", {**PASSWORD_GRANT, "username": "al\x00ice"}, {}),
        ("/auth/oauth2/token", {**PASSWORD_GRANT, "client_id": "documentation\x00"}, {}),
        ("/auth/oauth2/token", {"grant_type": "client_credentials"}, basic("bot\x00", "secret")),
        ("/auth/oauth2/revoke", {"client_id": "documentation", "token": "t\x00"}, {}),
    ],
)
def test_a_nul_in_an_oauth2_request_is_an_rfc6749_invalid_request(client, caplog_info, path, form, headers):
    response = client.post(path, data=form, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert_logged_one_line(caplog_info)


@pytest.mark.parametrize(
    ("method", "path", "form"),
    [
        ("GET", "/auth/oauth2/authorize?client_id=we%00b&response_type=code", None),
        (
            "POST",
            "/auth/oauth2/authorize?client_id=web&response_type=code",
            {"decision": "allow", "username": "a\x00"},
        ),
        ("POST", "/auth/signup", {"username": "nully", "password": "x" * 10, "display_name": "a\x00b"}),
    ],
)
def test_a_nul_on_a_sign_in_page_is_a_400_page(client, caplog_info, method, path, form):
    response = client.open(path, method=method, data=form)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert_logged_one_line(caplog_info)


# --- the authorize page ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "client_id=web&response_type=code&redirect_uri=http://evil.example/%22",
        "client_id=web&response_type=code&redirect_uri=http://evil.example/%5C",
        "client_id=web&response_type=co%22de",
        "client_id=web&response_type=co%5Cde",
    ],
)
def test_a_quote_or_backslash_in_the_authorize_request_is_a_400_page(client, caplog_info, query):
    response = client.get(f"/auth/oauth2/authorize?{query}")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "invalid_request" in response.get_data(as_text=True) or "unsupported" in response.get_data(
        as_text=True
    )
    assert_logged_one_line(caplog_info)


# --- bearer tokens ----------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer ", "Bearer    ", "bearer"])
def test_an_empty_bearer_token_is_a_401_invalid_token_with_a_bearer_challenge(client, authorization):
    response = client.get("/api/v1/users/me", headers={"Authorization": authorization})
    assert_error(response, 401)
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge


def test_another_scheme_gets_the_bare_bearer_challenge(client, alice):
    response = client.get("/api/v1/users/me", headers={"Authorization": "Basic YWxpY2U6eA=="})
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="parley"'


def test_a_scope_error_names_itself_in_a_capitalised_bearer_challenge(client, alice):
    token = alice.token_with("users:read")
    response = client.patch("/api/v1/users/me", headers=bearer(token), json={"display_name": "A"})
    assert_error(response, 403)
    assert response.headers["WWW-Authenticate"].startswith(
        'Bearer realm="parley", error="insufficient_scope"'
    )


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("path", ["/auth/oauth2/token", "/auth/oauth2/revoke", "/auth/oauth2/introspect"])
def test_the_oauth2_endpoints_answer_other_methods_with_an_rfc6749_405(client, method, path):
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    body = response.get_json()
    assert body["error"] == "invalid_request"
    assert "POST a form body" in body["error_description"]


# --- chunked bodies, on a real socket ----------------------------------------------------------


def send_chunked(base_url: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    """POST `body` with `Transfer-Encoding: chunked` and no Content-Length, 64 KiB a chunk."""
    connection = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=30)
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    try:
        connection.request("POST", path, body=chunks, headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, response.read()
    except (BrokenPipeError, ConnectionResetError):
        pytest.fail("the server closed the connection instead of answering 413")
    finally:
        connection.close()


def multipart_file(size: int) -> tuple[dict[str, str], bytes]:
    head = b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n'
    return {
        "Content-Type": "multipart/form-data; boundary=b0undary"
    }, head + b"x" * size + b"\r\n--b0undary--\r\n"


def assert_chunked_bodies_past_the_limits_are_413(base_url: str, token: str) -> None:
    """A 2 MB JSON body and a 7 MB upload, sent chunked, meet the limits a Content-Length meets."""
    auth = {"Authorization": f"Bearer {token}"}
    json_body = b'{"name": "big", "topic": "' + b"a" * 2_000_000 + b'"}'
    status, body = send_chunked(
        base_url, "/api/v1/rooms", {**auth, "Content-Type": "application/json"}, json_body
    )
    assert (status, b"JSON bodies are limited" in body) == (413, True), body[:300]
    upload_headers, upload = multipart_file(7 * 1024 * 1024)
    status, body = send_chunked(base_url, "/api/v1/files", {**auth, **upload_headers}, upload)
    assert (status, b'"code":413' in body.replace(b" ", b"")) == (413, True), body[:300]
    status, body = send_chunked(
        base_url, "/api/v1/rooms", {**auth, "Content-Type": "application/json"}, b'{"name": "ok"}'
    )
    assert status == 201, body[:300]


def test_chunked_bodies_past_the_limits_are_413(live_server, alice):
    """On the development server; gunicorn also marks its input terminated and answers the same."""
    assert_chunked_bodies_past_the_limits_are_413(live_server, alice.token)
