"""Clients generated from the live document by openapi-generator, as integrators in other languages
make them: `python` drives a whole conversation against a live server, `typescript-fetch` passes
`tsc --strict`, and neither generator warns nor errs of anything in the document: only what it prints
for any document of the same OpenAPI version is left (see `own_warnings`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import SECOND_PASS

VENV_BIN = Path(sys.executable).parent
PACKAGE = "parley_openapi"
TYPESCRIPT = "5.9.3"
# Where the pinned TypeScript compiler is installed once, outside any test's temporary folder.
TYPESCRIPT_CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "parley-tests" / "typescript"
)
GENERATORS = {
    "python": ["--additional-properties", f"packageName={PACKAGE}"],
    # `Error` is a TypeScript global: map it to a name of its own rather than let the generator rename it.
    "typescript-fetch": ["--model-name-mappings", "Error=ApiError"],
}


def generate(document: dict[str, Any], folder: Path) -> dict[str, list[str]]:
    """Run both generators at once (each JVM start costs seconds) and answer each one's warnings
    and errors (an error is logged, yet the generation still succeeds)."""
    (folder / "openapi.json").write_text(json.dumps(document))
    generator = [str(VENV_BIN / "openapi-generator-cli"), "generate", "-i", "openapi.json"]
    # A run of seconds gains nothing from the JVM's optimising compiler: the quick one alone takes
    # 5 CPU-seconds where both take 9 (JAVA_OPTS holds one option in the wrapper).
    quick_jit = os.environ | {"JAVA_OPTS": "-XX:TieredStopAtLevel=1"}
    runs = {
        name: subprocess.Popen(
            [*generator, "-g", name, "-o", name, *options],
            cwd=folder,
            env=quick_jit,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, options in GENERATORS.items()
        if name in NEEDED
    }
    warnings = {}
    for name, run in runs.items():
        output, _ = run.communicate(timeout=120)
        assert run.returncode == 0, output
        warnings[name] = [line for line in output.splitlines() if " WARN " in line or " ERROR " in line]
    return warnings


# In the second pass only the conversation runs (the rest reads the document alone): python alone.
NEEDED = ["python"] if SECOND_PASS else list(GENERATORS)


@pytest.fixture(scope="module")
def generated(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    folder = tmp_path_factory.mktemp("generated")
    return folder, generate(document, folder)


def tsc() -> Path:
    """The pinned compiler, installed from npm on first use."""
    compiler = TYPESCRIPT_CACHE / TYPESCRIPT / "node_modules" / ".bin" / "tsc"
    if not compiler.exists():
        install = ["npm", "install", "--prefix", str(compiler.parents[2]), f"typescript@{TYPESCRIPT}"]
        subprocess.run([*install, "--no-audit", "--no-fund"], check=True, capture_output=True, timeout=300)
    return compiler


def smallest_document(version: str) -> dict[str, Any]:
    """A document of `version` with one operation answering a model of one string property, the least
    a client is made from: what a generator prints for it, it prints for any document."""
    greeting = {"schema": {"$ref": "#/components/schemas/Greeting"}}
    answer = {"description": "A greeting", "content": {"application/json": greeting}}
    return {
        "openapi": version,
        "info": {"title": "Smallest", "version": "1"},
        "paths": {"/greeting": {"get": {"operationId": "getGreeting", "responses": {"200": answer}}}},
        "components": {
            "schemas": {"Greeting": {"type": "object", "properties": {"text": {"type": "string"}}}}
        },
    }


@pytest.fixture(scope="module")
def own_warnings(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """What each generator prints of itself, whatever the document holds. In openapi-generator 7.26.0:
    `DefaultCodegen.setOpenAPI` calls its support of any 3.1 document beta, and the python generator's
    `toDefaultValue` asks every model property for its `$ref` name, which `ModelUtils.getSimpleRef`
    warns of when there is none (a string, or the schema a `$ref` leads to)."""
    smallest = smallest_document(app.config["OPENAPI_VERSION"])
    return generate(smallest, tmp_path_factory.mktemp("smallest"))


# What a generator makes of the document, and tsc of that, depends on no database: first pass only.
@pytest.mark.engine_independent
@pytest.mark.parametrize("generator", list(GENERATORS))
def test_openapi_generator_warns_of_nothing_in_the_document(
    generated: tuple[Path, dict[str, list[str]]], own_warnings: dict[str, list[str]], generator: str
) -> None:
    _, warnings = generated
    assert [line for line in warnings[generator] if line not in own_warnings[generator]] == []


@pytest.mark.engine_independent
def test_the_typescript_client_passes_tsc_strict(generated: tuple[Path, dict[str, list[str]]]) -> None:
    folder, _ = generated
    options = ["--strict", "--noEmit", "--target", "es2020", "--lib", "es2020,dom", "--module", "es2020"]
    checked = subprocess.run(
        [str(tsc()), *options, "--moduleResolution", "node", "index.ts"],
        cwd=folder / "typescript-fetch",
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (folder / "typescript-fetch" / "models" / "ApiError.ts").exists()


# What a third-party integrator writes with the generated Python client, from sign-up to a long poll.
CONVERSATION = """
import sys
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import parley_openapi as parley

SERVER, PASSWORD = sys.argv[1], "correct horse battery"


def client(token=None):
    return parley.ApiClient(parley.Configuration(host=SERVER, access_token=token))


def sign_in(username):
    parley.UsersApi(client()).sign_up(parley.SignUpParameters(username=username, password=PASSWORD))
    token = parley.Oauth2Api(client()).issue_token(
        grant_type="password", username=username, password=PASSWORD, client_id="documentation"
    )
    return client(token.access_token)


def link(headers, rel):
    found = [part for part in headers.get("Link", "").split(",") if f'rel="{rel}"' in part]
    return parse_qs(urlsplit(found[0].split(";")[0].strip(" <>")).query) if found else None


gina, hugo = sign_in("gina"), sign_in("hugo")
assert parley.UsersApi(gina).get_current_user().username == "gina"
rooms, messages = parley.RoomsApi(gina), parley.MessagesApi(gina)
room = rooms.create_room(parley.CreateRoomParameters(name="generated", kind="private"))
assert room.kind == "private" and room.last_message is None, room

invite = rooms.create_invite(room.id, parley.CreateInviteParameters(requires_approval=True))
asked = parley.InvitesApi(hugo).accept_invite(invite.code)
assert isinstance(asked, parley.JoinRequest), asked
assert [request.id for request in rooms.list_join_requests(room.id)] == [asked.id]
rooms.approve_join_request(room.id, asked.id)
assert {member.user.username for member in rooms.list_room_members(room.id)} == {"gina", "hugo"}

since = parley.EventsApi(hugo).poll_events(timeout=0).last_event_id
sent = [messages.send_message(room.id, parley.SendMessageParameters(body=f"word {n}")) for n in range(5)]
page = parley.MessagesApi(hugo).list_room_messages_with_http_info(room.id, limit=2)
bodies = [message.body for message in page.data]
while (older := link(page.headers, "prev")) is not None:
    page = parley.MessagesApi(hugo).list_room_messages_with_http_info(room.id, **{
        name: int(values[0]) for name, values in older.items()
    })
    bodies = [message.body for message in page.data] + bodies
assert bodies == [f"word {n}" for n in range(5)], bodies

replying = parley.SendMessageParameters(body="a reply", parent_id=sent[0].id)
reply = parley.MessagesApi(hugo).send_message(room.id, replying)
assert [m.id for m in messages.list_message_replies(room.id, sent[0].id)] == [reply.id]
edited = messages.edit_message(room.id, sent[1].id, parley.EditMessageParameters(body="word edited"))
assert edited.body == "word edited" and edited.edited_at is not None
messages.delete_message(room.id, sent[2].id)
assert messages.get_message(room.id, sent[2].id).deleted
reacted = parley.MessagesApi(hugo).add_reaction(":thumbsup:", room.id, sent[0].id)
assert [(r.emoji, r.count, r.me) for r in reacted.reactions] == [(":thumbsup:", 1, True)], reacted.reactions

later = datetime.now(timezone.utc) + timedelta(hours=1)
pending = messages.send_message(room.id, parley.SendMessageParameters(body="later", send_at=later))
scheduled = parley.ScheduledApi(gina)
assert [s.id for s in scheduled.list_scheduled_messages()] == [pending.id]
scheduled.cancel_scheduled_message(pending.id)
assert scheduled.list_scheduled_messages() == []

assert [m.id for m in parley.SearchApi(hugo).search_messages("edited", room_id=room.id)] == [sent[1].id]

stored = parley.FilesApi(gina).upload_file(("minutes.txt", b"the minutes"))
attaching = parley.SendMessageParameters(body="see file", attachment_ids=[stored.id])
attached = messages.send_message(room.id, attaching)
assert [a.filename for a in attached.attachments] == ["minutes.txt"]
assert parley.FilesApi(hugo).download_file(stored.id) == b"the minutes"

heard = parley.EventsApi(hugo).poll_events(since=since, timeout=5)
assert "message.created" in {event.type for event in heard.events}, heard
print("conversation held")
"""


def test_the_generated_python_client_holds_a_conversation(
    generated: tuple[Path, dict[str, list[str]]], live_server: str
) -> None:
    folder, _ = generated
    conversation = subprocess.run(
        [sys.executable, "-W", "error", "-c", CONVERSATION, live_server],
        cwd=folder / "python",
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert conversation.stdout.strip() == "conversation held", conversation.stdout + conversation.stderr
