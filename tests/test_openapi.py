"""The OpenAPI document as a product: valid, complete for every operation (not a sample), and true to
what the server answers, so that clients generated from it are typed and work. Also the input rules
the document promises: booleans are JSON booleans, and integers stay within their stated bounds."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from tests.assertions import assert_invalid
from tests.conftest import User, basic, password_token
from tests.rooms import ROOMS, create_room_id, messages_path, room_path
from tests.test_docs import SCOPES

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
CAMEL_CASE = re.compile(r"[a-z]+(?:[A-Z][a-z0-9]*)*")
MAX_ID = 2**31 - 1
# Endpoints that spend no rate limit: the RFC 7009/7662 endpoints (client-authenticated).
UNLIMITED_WRITES = {("post", "/auth/oauth2/revoke"), ("post", "/auth/oauth2/introspect")}
# The answers that hold a request open (a stream; a long poll up to `timeout`).
HELD_OPEN = {("get", "/api/v1/events"), ("get", "/api/v1/events/poll")}


@pytest.fixture(scope="module")
def document(app: Any) -> dict[str, Any]:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def deref(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method, path, operation


def all_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = list(operations(document))
    assert len(found) > 50, "the document looks empty"
    return found


def parameters(document: dict[str, Any], path: str, operation: dict[str, Any]) -> list[dict[str, Any]]:
    item = document["paths"][path]
    return [deref(document, p) for p in item.get("parameters", []) + operation.get("parameters", [])]


def responses(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {status: deref(document, answer) for status, answer in operation["responses"].items()}


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def invalid(document: dict[str, Any], schema: dict[str, Any], instance: Any, what: str) -> list[str]:
    """What is wrong with `instance` under `schema` (a part of `document`), one line per error."""
    validator = OAS31Validator({**schema, "components": document["components"]})
    return [
        f"{what}: {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)
    ]


# --- the document as a whole ---------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_the_document_names_its_server(document: dict[str, Any]) -> None:
    assert [server["url"] for server in document["servers"]] == ["/"]


def test_the_oauth2_scheme_offers_password_authorization_code_and_client_credentials(
    document: dict[str, Any],
) -> None:
    flows = document["components"]["securitySchemes"]["oauth2"]["flows"]

    assert set(flows) == {"password", "authorizationCode", "clientCredentials"}
    assert flows["authorizationCode"]["authorizationUrl"] == "/auth/oauth2/authorize"
    for flow in flows.values():
        assert flow["tokenUrl"] == "/auth/oauth2/token"
        assert set(flow["scopes"]) == SCOPES
    assert "PKCE" in document["components"]["securitySchemes"]["oauth2"]["description"]


def test_no_schema_is_a_free_form_object_beside_a_reference(document: dict[str, Any]) -> None:
    """`anyOf: [{$ref}, {type: object}]` makes generated clients hand back untyped dicts."""
    loose = [
        node
        for node in walk(document["components"]["schemas"])
        for option in node.get("anyOf", [])
        if "$ref" not in option and option != {"type": "null"}
    ]
    assert loose == []


@pytest.mark.parametrize(("schema", "field"), [("Message", "author"), ("Room", "last_message")])
def test_optional_objects_are_nullable_references(document: dict[str, Any], schema: str, field: str) -> None:
    prop = document["components"]["schemas"][schema]["properties"][field]
    assert {"type": "null"} in prop["anyOf"]
    assert any("$ref" in option for option in prop["anyOf"])
    assert field in document["components"]["schemas"][schema]["required"]


# Fields some answers leave out (another user's email; a refresh token for client credentials).
SOMETIMES_ABSENT = {"User": {"email"}, "Profile": {"email"}, "Token": {"refresh_token"}}
ANSWERS = (
    *SOMETIMES_ABSENT,
    *("Me", "Author", "Message", "Room", "Member", "ListedMember", "Invite", "NewInvite", "JoinRequest"),
    *("Attachment", "Reaction", "ScheduledMessage", "Client", "CreatedClient", "Report", "Event", "Poll"),
)


@pytest.mark.parametrize("name", ANSWERS)
def test_answers_list_their_always_present_fields_as_required(document: dict[str, Any], name: str) -> None:
    schema = document["components"]["schemas"][name]
    assert set(schema["properties"]) - set(schema["required"]) == SOMETIMES_ABSENT.get(name, set())


def test_pagination_metadata_is_json_with_page_size(document: dict[str, Any]) -> None:
    header = document["components"]["headers"]["PAGINATION"]["schema"]
    assert header["contentMediaType"] == "application/json"
    schema = deref(document, header["contentSchema"])
    assert set(schema["properties"]) == {"total", "total_pages", "page", "page_size"}
    assert set(schema["required"]) == {"total", "total_pages", "page", "page_size"}


def test_401_and_429_answers_document_their_headers(document: dict[str, Any]) -> None:
    answers = document["components"]["responses"]
    assert "WWW-Authenticate" in answers["UNAUTHORIZED"]["headers"]
    assert "Retry-After" in answers["TOO_MANY_REQUESTS"]["headers"]


def test_every_header_is_typed_through_its_schema(document: dict[str, Any]) -> None:
    """openapi-generator and Schemathesis read a header's `schema` only: one declared through
    `content` reaches them as an untyped string (with a warning per operation, from the first)."""
    answers = [*document["components"]["responses"].values()] + [
        answer for _, _, operation in all_operations(document) for answer in operation["responses"].values()
    ]
    untyped = {
        name
        for answer in answers
        for name, header in deref(document, answer).get("headers", {}).items()
        if "schema" not in deref(document, header)
    }
    assert untyped == set()


def test_every_documented_header_has_an_example(document: dict[str, Any]) -> None:
    headers = [
        (name, deref(document, header))
        for node in walk(document)
        if isinstance(node.get("headers"), dict)
        for name, header in node["headers"].items()
    ]
    assert {name for name, _ in headers} >= {"Location", "Link", "X-Pagination", "Retry-After"}
    assert {name for name, header in headers if "example" not in header} == set()


def test_open_schemas_leave_additional_properties_to_json_schemas_default(document: dict[str, Any]) -> None:
    """openapi-generator takes a form that spells out `additionalProperties: true` for a map, which it
    cannot generate (it logs an error per operation); leaving it out says the same."""
    schemas = document["components"]["schemas"]
    assert [name for name, schema in schemas.items() if schema.get("additionalProperties") is True] == []


# --- every operation ----------------------------------------------------------------------------


def test_every_operation_has_a_unique_camel_case_operation_id(document: dict[str, Any]) -> None:
    ids: list[Any] = [operation.get("operationId") for _, _, operation in all_operations(document)]
    assert [i for i in ids if not i or not CAMEL_CASE.fullmatch(i)] == []
    assert sorted(i for i in set(ids) if ids.count(i) > 1) == []


@pytest.mark.parametrize(
    ("method", "path", "operation_id"),
    [
        ("get", "/api/v1/rooms/{room_id}/messages", "listRoomMessages"),
        ("post", "/api/v1/rooms/{room_id}/messages", "sendMessage"),
        ("get", "/api/v1/users/me", "getCurrentUser"),
        ("post", "/auth/oauth2/token", "issueToken"),
    ],
)
def test_operation_ids_read_as_what_the_operation_does(
    document: dict[str, Any], method: str, path: str, operation_id: str
) -> None:
    assert document["paths"][path][method]["operationId"] == operation_id


def test_every_operation_has_a_summary_a_description_and_a_declared_tag(document: dict[str, Any]) -> None:
    tags = {tag["name"] for tag in document["tags"]}
    incomplete = [
        f"{method.upper()} {path}"
        for method, path, operation in all_operations(document)
        if not operation.get("summary")
        or len(operation.get("description", "")) < 20
        or not operation.get("tags")
        or set(operation["tags"]) - tags
    ]
    assert incomplete == []


def test_every_201_documents_location(document: dict[str, Any]) -> None:
    created = [
        (method, path, answer)
        for method, path, operation in all_operations(document)
        for status, answer in responses(document, operation).items()
        if status == "201"
    ]
    assert len(created) > 8
    missing = [f"{m.upper()} {p}" for m, p, answer in created if "Location" not in answer.get("headers", {})]
    assert missing == ["POST /api/v1/users/{user_id}/reports"]  # a report has no URL of its own


def test_every_created_resource_links_to_the_operations_on_it(document: dict[str, Any]) -> None:
    """OpenAPI links: what Schemathesis's stateful phase and generated clients follow between calls."""
    by_id = {operation["operationId"]: (path, operation) for _, path, operation in all_operations(document)}
    unlinked, wrong = [], []
    for method, path, operation in all_operations(document):
        for status, answer in responses(document, operation).items():
            if (
                status in ("201", "202")
                and "Location" in answer.get("headers", {})
                and not answer.get("links")
            ):
                unlinked.append(f"{method.upper()} {path} {status}")
            for name, link in answer.get("links", {}).items():
                target_path, target = by_id[link["operationId"]]
                needed = {p["name"] for p in parameters(document, target_path, target) if p["in"] == "path"}
                expressions = link["parameters"].values()
                if (
                    name != link["operationId"][0].upper() + link["operationId"][1:]
                    or set(link["parameters"]) != needed
                ):
                    wrong.append(f"{method.upper()} {path} {status} -> {link['operationId']}")
                wrong += [
                    e
                    for e in expressions
                    if not re.fullmatch(r"\$(response\.body#(/\w+)+|request\.path\.\w+)", e)
                ]
    assert unlinked == []
    assert wrong == []
    created_room = document["paths"]["/api/v1/rooms"]["post"]["responses"]["201"]
    assert {"GetRoom", "SendMessage", "ListRoomMessages"} <= set(created_room["links"])
    assert {"Location", "X-RateLimit-Limit"} <= set(created_room["headers"])


def test_every_protected_operation_documents_401_with_www_authenticate(document: dict[str, Any]) -> None:
    missing = [
        f"{method.upper()} {path}"
        for method, path, operation in all_operations(document)
        if operation.get("security", [{}]) != [{}]
        and "WWW-Authenticate" not in responses(document, operation).get("401", {}).get("headers", {})
    ]
    assert missing == []


def test_every_rate_limited_operation_documents_429_with_retry_after(document: dict[str, Any]) -> None:
    """Every write spends a limit (per user, or per address for sign-up and log-in), and the streams
    are limited per user: each documents the 429 and when to come back."""
    limited = [
        (method, path, operation)
        for method, path, operation in all_operations(document)
        if (method != "get" or (method, path) in HELD_OPEN) and (method, path) not in UNLIMITED_WRITES
    ]
    missing = [
        f"{method.upper()} {path}"
        for method, path, operation in limited
        if "Retry-After" not in responses(document, operation).get("429", {}).get("headers", {})
    ]
    assert missing == []


def test_every_offset_paginated_operation_documents_x_pagination_as_json(document: dict[str, Any]) -> None:
    paginated = [
        (method, path, operation)
        for method, path, operation in all_operations(document)
        if any(p["name"] == "page" for p in parameters(document, path, operation))
    ]
    assert len(paginated) >= 6
    wrong = [
        f"{method.upper()} {path}"
        for method, path, operation in paginated
        if deref(document, responses(document, operation)["200"]["headers"]["X-Pagination"])["schema"].get(
            "contentMediaType"
        )
        != "application/json"
    ]
    assert wrong == []


def test_every_cursor_paginated_operation_documents_link(document: dict[str, Any]) -> None:
    cursored = [
        (method, path, operation)
        for method, path, operation in all_operations(document)
        if {"before", "after"} <= {p["name"] for p in parameters(document, path, operation)}
    ]
    assert len(cursored) == 3
    assert [p for _, p, op in cursored if "Link" not in responses(document, op)["200"]["headers"]] == []


def json_body_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for method, path, operation in all_operations(document)
        if "application/json" in deref(document, operation.get("requestBody", {})).get("content", {})
    ]


def test_every_json_body_documents_400_413_and_422(document: dict[str, Any]) -> None:
    with_bodies = json_body_operations(document)
    assert len(with_bodies) >= 14
    missing = [
        f"{method.upper()} {path} {status}"
        for method, path, operation in with_bodies
        for status in ("400", "413", "422")
        if status not in operation["responses"]
    ]
    assert missing == []


def test_every_json_body_refuses_what_is_not_json_with_a_400(
    client: FlaskClient, alice: User, document: dict[str, Any]
) -> None:
    answers = {
        f"{method.upper()} {path}": client.open(
            re.sub(r"{\w+}", "1", path),
            method=method,
            headers={**alice.headers, "Content-Type": "text/plain"},
            data="hello",
        ).status_code
        for method, path, _ in json_body_operations(document)
    }
    assert {operation: status for operation, status in answers.items() if status != 400} == {}


def test_every_request_body_has_an_example(document: dict[str, Any]) -> None:
    missing = [
        f"{method.upper()} {path} {media_type}"
        for method, path, operation in all_operations(document)
        for media_type, content in deref(document, operation.get("requestBody", {}))
        .get("content", {})
        .items()
        if media_type != "multipart/form-data" and "example" not in content and "examples" not in content
    ]
    assert missing == []


def test_every_json_answer_has_an_example(document: dict[str, Any]) -> None:
    """Successes show a whole answer (a message with its author and reactions, a room with its last
    message); errors share one example per status."""
    answers = [
        (f"{method.upper()} {path} {status}", answer["content"]["application/json"])
        for method, path, operation in all_operations(document)
        for status, answer in responses(document, operation).items()
        if "application/json" in answer.get("content", {})
    ]
    assert len([what for what, _ in answers if what.endswith(("200", "201"))]) > 40
    assert [what for what, media in answers if "example" not in media] == []


def test_every_example_holds_to_its_schema(document: dict[str, Any]) -> None:
    """Answers, error answers, request bodies and headers alike; X-Pagination's as the JSON it holds."""
    examples = [node for node in walk(document) if "schema" in node and "example" in node]
    assert len(examples) > 80
    errors = [
        error
        for node in examples
        for error in invalid(document, node["schema"], node["example"], json.dumps(node["example"])[:80])
    ]
    pagination = document["components"]["headers"]["PAGINATION"]
    errors += invalid(
        document, pagination["schema"]["contentSchema"], json.loads(pagination["example"]), "X-Pagination"
    )
    assert errors == []


def test_an_answers_example_shows_nested_resources_whole(document: dict[str, Any]) -> None:
    room = document["paths"]["/api/v1/rooms/{room_id}"]["get"]["responses"]["200"]["content"]
    example = room["application/json"]["example"]
    assert example["last_message"]["room_id"] == example["id"]
    assert example["last_message"]["author"]["username"]
    assert example["last_message"]["reactions"][0]["emoji"]
    assert datetime.fromisoformat(example["created_at"]).tzinfo is not None


def test_no_request_body_shares_one_schema_between_media_types(document: dict[str, Any]) -> None:
    """openapi-python-client writes modules that fail to import when it does."""
    shared = [
        f"{method.upper()} {path}"
        for method, path, operation in all_operations(document)
        if len(contents := deref(document, operation.get("requestBody", {})).get("content", {})) > 1
        and len({json.dumps(c["schema"], sort_keys=True) for c in contents.values()}) < len(contents)
    ]
    assert shared == []


def test_oauth2_form_endpoints_say_they_ignore_unknown_parameters(document: dict[str, Any]) -> None:
    for endpoint in ("token", "revoke", "introspect"):
        assert "unknown parameters are ignored" in document["paths"][f"/auth/oauth2/{endpoint}"]["post"][
            "description"
        ].lower().replace("\n", " ")


def test_oauth2_forms_are_documented_open_to_unknown_parameters(
    client: FlaskClient, alice: User, document: dict[str, Any]
) -> None:
    """Found by Schemathesis: the forms were declared closed, yet RFC 6749 has the server ignore
    what it does not know, and so it does."""
    for name in ("TokenRequestParameters", "TokenParameters"):
        assert document["components"]["schemas"][name].get("additionalProperties", True) is True
    assert "access_token" in password_token(client, alice.username, alice.password, unknown="42")


@pytest.mark.parametrize("endpoint", ["token", "revoke", "introspect"])
def test_oauth2_endpoints_allow_only_what_the_document_has(client: FlaskClient, endpoint: str) -> None:
    """Found by Schemathesis: OPTIONS listed GET, PUT, PATCH and DELETE, which are only refused."""
    path = f"/auth/oauth2/{endpoint}"
    assert client.options(path).headers["Allow"] == "OPTIONS, POST"
    assert client.get(path).headers["Allow"] == "POST"


def test_the_event_stream_describes_its_frames(document: dict[str, Any]) -> None:
    answer = document["paths"]["/api/v1/events"]["get"]["responses"]["200"]
    stream = answer["content"]["text/event-stream"]
    assert all(word in answer["description"] for word in ("id:", "event:", "data:", "keep-alive", "reset"))
    assert re.search(r"^id: \d+\nevent: [a-z.]+\ndata: \{.*\}\n\n", stream["example"], re.M)


def test_the_event_stream_body_is_text_to_generated_clients(document: dict[str, Any]) -> None:
    """An object schema (one event, as Schemathesis reads a stream before OpenAPI 3.2) makes
    openapi-python-client parse the body's text as a JSON object: the SDK would not type-check."""
    schema = document["paths"]["/api/v1/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
    assert schema["schema"]["type"] == "string"


def test_every_integer_parameter_states_its_bounds(document: dict[str, Any]) -> None:
    unbounded = [
        f"{method.upper()} {path} {p['name']}"
        for method, path, operation in all_operations(document)
        for p in parameters(document, path, operation)
        if p["schema"].get("type") == "integer"
        and ("minimum" not in p["schema"] or "maximum" not in p["schema"])
    ]
    assert unbounded == []
    users = {
        p["name"]: p["schema"]
        for p in parameters(document, "/api/v1/users", document["paths"]["/api/v1/users"]["get"])
    }
    assert (users["page"]["minimum"], users["page"]["maximum"]) == (1, MAX_ID)
    assert users["page_size"]["maximum"] == 100


# --- the server does what the document says -------------------------------------------------------


def id_paths(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method, path)
        for method, path, operation in all_operations(document)
        if any(
            p["in"] == "path" and p["schema"].get("type") == "integer"
            for p in parameters(document, path, operation)
        )
    ]


@pytest.mark.parametrize("huge", [MAX_ID, MAX_ID + 1, 10**20])
def test_an_id_past_any_row_is_never_a_500_on_any_operation(
    client: FlaskClient, alice: User, document: dict[str, Any], huge: int
) -> None:
    """Every operation with an id in its path: as large as the database holds (not found, or refused
    before the lookup: an empty body, a non-admin), and past it (not found by the URL's bounds)."""
    answers = {}
    for method, path in id_paths(document):
        url = re.sub(r"{(\w+_id)}", str(huge), path)
        url = url.replace("{emoji}", "%F0%9F%91%8D").replace("{user_ref}", "me").replace("{code}", "x")
        response = client.open(url, method=method, headers=alice.headers, json={})
        answers[f"{method.upper()} {path}"] = response.status_code
    expected = {404, 403, 422} if huge <= MAX_ID else {404}
    assert {operation: status for operation, status in answers.items() if status not in expected} == {}
    assert len(answers) > 25


def bounded_query_parameters(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, p["name"], p["schema"])
        for method, path, operation in all_operations(document)
        if method == "get" and "{" not in path
        for p in parameters(document, path, operation)
        if p["in"] == "query" and p["schema"].get("type") == "integer"
    ]


def test_a_query_integer_past_its_bounds_is_a_422_naming_it(
    client: FlaskClient, alice: User, document: dict[str, Any]
) -> None:
    checked = bounded_query_parameters(document)
    assert {name for _, name, _ in checked} >= {"page", "page_size", "since", "timeout", "room_id"}
    for path, name, schema in checked:
        for value in (schema["maximum"] + 1, schema["minimum"] - 1, 10**20):
            query = {"q": "hi", name: value}  # `q` for the search; ignored elsewhere
            response = client.get(path, query_string=query, headers=alice.headers)
            assert_invalid(response, "query", name)


def test_a_query_integer_at_its_bounds_is_answered(
    client: FlaskClient, alice: User, document: dict[str, Any]
) -> None:
    """Both ends of every stated range reach the database (or the caller's permissions) and come back
    as an answer, never a 500. The stream is left out (it would stay open), and so is the longest poll."""
    answers = {}
    for path, name, schema in bounded_query_parameters(document):
        if path == "/api/v1/events":
            continue
        for value in (schema["minimum"], schema["maximum"]):
            if (name, value) == ("timeout", schema["maximum"]):
                continue
            query = {"q": "hi", "timeout": 0, name: value}
            answers[f"{path}?{name}={value}"] = client.get(
                path, query_string=query, headers=alice.headers
            ).status_code
    assert {asked: status for asked, status in answers.items() if status not in (200, 403, 404)} == {}
    assert len(answers) > 20


@pytest.mark.parametrize(
    "path",
    ["/api/v1/users", "/api/v1/rooms", "/api/v1/join-requests", "/api/v1/messages/search"],
)
def test_the_last_page_the_document_allows_is_empty(client: FlaskClient, alice: User, path: str) -> None:
    query = {"page": MAX_ID, "page_size": 100, "q": "hi"}  # `q` for the search; ignored elsewhere
    response = client.get(path, query_string=query, headers=alice.headers)
    assert response.status_code == 200
    assert response.get_json() == []


@pytest.mark.parametrize("value", ["on", "true", 0, 1, "false", None, []])
def test_a_boolean_field_takes_only_json_booleans(client: FlaskClient, alice: User, value: Any) -> None:
    response = client.post(
        "/api/v1/auth/clients", headers=alice.headers, json={"name": "bot", "confidential": value}
    )
    assert_invalid(response, "json", "confidential")


def test_every_boolean_in_a_body_is_strict(client: FlaskClient, alice: User) -> None:
    room = client.post("/api/v1/rooms", headers=alice.headers, json={"name": "den"}).get_json()
    invites = f"/api/v1/rooms/{room['id']}/invites"

    assert_invalid(
        client.post(invites, headers=alice.headers, json={"requires_approval": "no"}),
        "json",
        "requires_approval",
    )
    accepted = client.post(invites, headers=alice.headers, json={"requires_approval": False})
    assert accepted.status_code == 201
    assert accepted.get_json()["requires_approval"] is False


def test_the_oauth2_endpoints_ignore_unknown_parameters(client: FlaskClient, alice: User) -> None:
    token = password_token(client, alice.username, alice.password, favourite_colour="blue")
    assert token["token_type"] == "Bearer"

    revoke = {"token": token["refresh_token"], "client_id": "documentation", "favourite_colour": "blue"}
    assert client.post("/auth/oauth2/revoke", data=revoke).status_code == 200
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": token["refresh_token"],
        "client_id": "documentation",
    }
    assert client.post("/auth/oauth2/token", data=refresh).get_json()["error"] == "invalid_grant"


# --- answers match their documented schemas -----------------------------------------------------


# Documented headers every such answer carries (X-RateLimit-* are off in tests, Link only when
# there are more pages).
ALWAYS_SENT = {"Location", "WWW-Authenticate", "Retry-After"}


class DocumentedClient:
    """Calls operations by their documented path and checks each answer against the document:
    the body against the status's schema, every documented header of a 201 and of a page."""

    def __init__(self, client: FlaskClient, document: dict[str, Any]) -> None:
        self.client, self.document = client, document
        self.checked: set[str] = set()

    def call(self, user: User | None, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        url = path.format(**kwargs.pop("ids", {}))
        headers = {**(user.headers if user else {}), **kwargs.pop("headers", {})}
        response = self.client.open(url, method=method, headers=headers, **kwargs)
        assert response.status_code == expect, response.get_data(as_text=True)
        operation = self.document["paths"][path][method]
        answer = deref(self.document, operation["responses"][str(expect)])
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        body = response.get_json() if response.is_json and response.data else None
        if schema is not None:
            self.validate(schema, body, f"{method.upper()} {path} {expect}")
        for name, header in answer.get("headers", {}).items():
            header = deref(self.document, header)
            if name == "X-Pagination":
                self.validate(header["schema"]["contentSchema"], json.loads(response.headers[name]), name)
            elif name in ALWAYS_SENT:
                assert response.headers.get(name), f"{method.upper()} {path}: no {name}"
        self.checked.add(operation["operationId"])
        return body

    def validate(self, schema: dict[str, Any], instance: Any, what: str) -> None:
        assert invalid(self.document, schema, instance, what) == []


def test_a_conversation_is_answered_as_documented(
    client: FlaskClient, document: dict[str, Any], alice: User, bob: User
) -> None:
    api = DocumentedClient(client, document)
    me = api.call(alice, "get", "/api/v1/users/me", 200)
    api.call(alice, "get", "/api/v1/users/{user_id}", 200, ids={"user_id": bob.id})
    api.call(alice, "get", "/api/v1/users", 200, query_string={"q": "b", "page_size": 1})
    room = api.call(alice, "post", "/api/v1/rooms", 201, json={"name": "plans", "members": [bob.username]})
    ids = {"room_id": room["id"]}
    assert room["last_message"] is None
    first = api.call(alice, "post", "/api/v1/rooms/{room_id}/messages", 201, ids=ids, json={"body": "hello"})
    assert first["author"]["id"] == me["id"]
    reply = api.call(
        bob,
        "post",
        "/api/v1/rooms/{room_id}/messages",
        201,
        ids=ids,
        json={"body": "hi", "parent_id": first["id"]},
    )
    message = {**ids, "message_id": first["id"]}
    api.call(
        bob,
        "put",
        "/api/v1/rooms/{room_id}/messages/{message_id}/reactions/{emoji}",
        201,
        ids={**message, "emoji": "👍"},
    )
    api.call(
        alice,
        "patch",
        "/api/v1/rooms/{room_id}/messages/{message_id}",
        200,
        ids=message,
        json={"body": "hello!"},
    )
    api.call(alice, "get", "/api/v1/rooms/{room_id}/messages", 200, ids=ids, query_string={"limit": 1})
    api.call(alice, "get", "/api/v1/rooms/{room_id}/messages/{message_id}/replies", 200, ids=message)
    api.call(alice, "get", "/api/v1/rooms", 200)
    api.call(alice, "get", "/api/v1/rooms/{room_id}", 200, ids=ids)
    api.call(alice, "put", "/api/v1/rooms/{room_id}/read", 200, ids=ids, json={"message_id": reply["id"]})
    api.call(alice, "get", "/api/v1/rooms/{room_id}/members", 200, ids=ids)
    api.call(alice, "get", "/api/v1/rooms/{room_id}/members/{user_ref}", 200, ids={**ids, "user_ref": "me"})
    invite = api.call(alice, "post", "/api/v1/rooms/{room_id}/invites", 201, ids=ids, json={"max_uses": 2})
    api.call(alice, "get", "/api/v1/rooms/{room_id}/invites", 200, ids=ids)
    api.call(alice, "get", "/api/v1/messages/search", 200, query_string={"q": "hello"})
    api.call(alice, "post", "/api/v1/events/ticket", 200)
    api.call(alice, "get", "/api/v1/events/poll", 200, query_string={"since": 0, "timeout": 0})
    direct = api.call(alice, "post", "/api/v1/rooms/direct", 201, json={"username": bob.username})
    api.call(alice, "post", "/api/v1/rooms/direct", 200, json={"username": bob.username})
    client_app = api.call(alice, "post", "/api/v1/auth/clients", 201, json={"name": "bot"})
    api.call(alice, "get", "/api/v1/auth/clients", 200)
    api.call(
        None,
        "post",
        "/auth/oauth2/token",
        200,
        data={"grant_type": "client_credentials"},
        headers=basic(client_app["client_id"], client_app["client_secret"]),
    )
    api.call(
        bob,
        "post",
        "/api/v1/users/{user_id}/reports",
        201,
        ids={"user_id": me["id"]},
        json={"reason": "test"},
    )
    api.call(alice, "delete", "/api/v1/rooms/{room_id}/messages/{message_id}", 204, ids=message)
    api.call(alice, "get", "/api/v1/rooms/{room_id}/messages/{message_id}", 200, ids=message)
    api.call(alice, "get", "/api/v1/join-requests", 200)
    api.call(None, "get", "/api/v1/users/me", 401)
    api.call(None, "get", "/api/v1/rooms/{room_id}", 401, ids=ids, headers={"Authorization": "Bearer nope"})
    assert invite["code"] and direct["kind"] == "direct"
    assert len(api.checked) == 27


def test_invites_schedules_and_files_are_answered_as_documented(
    client: FlaskClient, document: dict[str, Any], alice: User, make_user: Any
) -> None:
    carol = make_user("carol")
    api = DocumentedClient(client, document)
    room = api.call(alice, "post", "/api/v1/rooms", 201, json={"name": "gated"})
    ids = {"room_id": room["id"]}
    invite = api.call(alice, "post", "/api/v1/rooms/{room_id}/invites", 201, ids=ids, json={})
    api.call(alice, "get", "/api/v1/rooms/{room_id}/invites/{code}", 200, ids={**ids, "code": invite["id"]})
    asked = api.call(carol, "post", "/api/v1/invites/{code}/accept", 202, ids={"code": invite["code"]})
    api.call(alice, "get", "/api/v1/rooms/{room_id}/join-requests", 200, ids=ids)
    approve = "/api/v1/rooms/{room_id}/join-requests/{request_id}/approve"
    api.call(alice, "post", approve, 200, ids={**ids, "request_id": asked["id"]})
    member = {**ids, "user_ref": carol.id}
    api.call(
        alice, "patch", "/api/v1/rooms/{room_id}/members/{user_ref}", 200, ids=member, json={"role": "admin"}
    )
    api.call(alice, "patch", "/api/v1/rooms/{room_id}", 200, ids=ids, json={"topic": "by invitation"})
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    send = {"body": "later", "send_at": later}
    pending = api.call(carol, "post", "/api/v1/rooms/{room_id}/messages", 202, ids=ids, json=send)
    api.call(carol, "get", "/api/v1/users/me/scheduled", 200)
    api.call(
        carol, "delete", "/api/v1/users/me/scheduled/{scheduled_id}", 204, ids={"scheduled_id": pending["id"]}
    )
    upload = {"file": (io.BytesIO(b"minutes"), "minutes.txt")}
    stored = api.call(carol, "post", "/api/v1/files", 201, data=upload, content_type="multipart/form-data")
    api.call(carol, "get", "/api/v1/files/{file_id}", 200, ids={"file_id": stored["id"]})
    api.call(carol, "patch", "/api/v1/users/me", 200, json={"display_name": "Carol"})
    api.call(carol, "post", "/api/v1/rooms/{room_id}/typing", 204, ids=ids)
    api.call(
        carol, "delete", "/api/v1/rooms/{room_id}/members/{user_ref}", 204, ids={**ids, "user_ref": "me"}
    )
    api.call(alice, "delete", "/api/v1/rooms/{room_id}", 204, ids=ids)
    assert len(api.checked) == 17


# --- refusals: what a caller who may not act is told, and the document says -----------------------


def operation_by_id(document: dict[str, Any], operation_id: str) -> dict[str, Any]:
    return next(op for _, _, op in operations(document) if op["operationId"] == operation_id)


def test_each_refusal_of_a_room_member_is_a_403_its_operation_documents(
    client: FlaskClient, alice: User, bob: User, carol: User, document: dict[str, Any]
) -> None:
    """The 403 of an operation names, in the document, every refusal it may answer with."""
    room = create_room_id(client, alice, members=["bob", "carol"])
    direct = client.post(f"{ROOMS}/direct", headers=alice.headers, json={"username": "bob"}).get_json()["id"]
    message = client.post(messages_path(room), headers=alice.headers, json={"body": "mine"}).get_json()["id"]
    refused = {
        "updateRoom": client.patch(room_path(room), headers=bob.headers, json={"topic": "bob's"}),
        "deleteRoom": client.delete(room_path(room), headers=bob.headers),
        "createInvite": client.post(room_path(direct, "invites"), headers=alice.headers, json={}),
        "addRoomMember": client.post(
            room_path(direct, "members"), headers=alice.headers, json={"username": "carol"}
        ),
        "removeRoomMember": client.delete(room_path(room, "members", carol.id), headers=bob.headers),
        "editMessage": client.patch(
            messages_path(room, message), headers=bob.headers, json={"body": "bob's"}
        ),
        "deleteMessage": client.delete(messages_path(room, message), headers=bob.headers),
        "joinRoom": client.post(room_path(room, "join"), headers=bob.headers),
    }
    undocumented = {
        operation_id: answer.get_json()["message"]
        for operation_id, answer in refused.items()
        if answer.status_code != 403
        or answer.get_json()["message"]
        not in deref(document, operation_by_id(document, operation_id)["responses"]["403"])["description"]
    }
    assert undocumented == {}
