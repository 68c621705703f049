"""The Python SDK shipped under clients/python/: it is what the current document generates, its models
are typed, and an integrator holds a whole conversation with it against a running server."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from flask.testing import FlaskClient

from tasks.client import HAND_WRITTEN, ROOT, SDK, write_sdk

REGENERATE = ".venv/bin/invoke client.generate"
# What tools leave beside the sources (bytecode, lint and type caches): git ignores them.
CACHES = {"__pycache__", ".ruff_cache", ".mypy_cache"}


def tree(root: Path) -> dict[str, bytes]:
    """Every generated file below `root` by its relative path: not the caches tools write there, nor
    the terminal client, written by hand inside the package (`invoke client.generate` keeps it)."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and not CACHES & set(path.parts)
        and not path.relative_to(root).is_relative_to(HAND_WRITTEN)
    }


# The SDK's code is what the document generates and imports: no database in it (first pass only).
@pytest.mark.engine_independent
def test_the_committed_sdk_is_what_the_current_document_generates(
    client: FlaskClient, tmp_path: Path
) -> None:
    said = write_sdk(client.get("/api/v1/openapi.json").get_json(), tmp_path / "python")

    assert said.split() == ["Generating", str(tmp_path / "python")], "no warnings"
    assert not (tmp_path / "python" / HAND_WRITTEN).exists(), (
        "what the comparison leaves out, generation never writes"
    )
    generated, committed = tree(tmp_path / "python"), tree(SDK)
    differing = sorted(
        path for path in generated.keys() | committed.keys() if generated.get(path) != committed.get(path)
    )
    assert differing == [], f"clients/python/ differs from what the document generates: run `{REGENERATE}`"


@pytest.mark.engine_independent
def test_the_sdk_is_named_and_versioned_after_the_document(client: FlaskClient) -> None:
    version = client.get("/api/v1/openapi.json").get_json()["info"]["version"]
    pyproject = (SDK / "pyproject.toml").read_text()

    assert 'name = "parley-client"' in pyproject
    assert f'version = "{version}"' in pyproject
    assert (SDK / "parley_client" / "py.typed").is_file()


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter that finds the committed package as `pip install` would give it."""
    return subprocess.run(
        [sys.executable, "-W", "error", "-B", "-c", code, *args],
        env={"PYTHONPATH": str(SDK), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )


IMPORT_EVERY_MODULE = """
import importlib, inspect, pkgutil, parley_client
found = pkgutil.walk_packages(parley_client.__path__, "parley_client.")
modules = [importlib.import_module(m.name) for m in found]
from parley_client.models import Message, Room
print(len(modules))
print(inspect.signature(Message.__init__).parameters["author"].annotation)
print(inspect.signature(Room.__init__).parameters["last_message"].annotation)
"""


@pytest.mark.engine_independent
def test_every_sdk_module_imports_and_optional_objects_stay_typed() -> None:
    imported = run_python(IMPORT_EVERY_MODULE)

    assert imported.returncode == 0, imported.stderr
    count, author, last_message = imported.stdout.split("\n")[:3]
    assert int(count) > 100
    assert (author, last_message) == ("Author | None", "Message | None")
    operations = {path.stem for path in (SDK / "parley_client" / "api").rglob("*.py")}
    assert {"list_room_messages", "send_message", "get_current_user", "issue_token"} <= operations


# What a third-party integrator writes with the SDK: typed models in, typed models out.
CONVERSATION = """
import io, sys, threading
import httpx
from parley_client import AuthenticatedClient, Client
from parley_client.api.events import poll_events
from parley_client.api.files import download_file, upload_file
from parley_client.api.messages import add_reaction, list_room_messages, send_message
from parley_client.api.oauth2 import issue_token
from parley_client.api.rooms import create_room
from parley_client.api.users import get_current_user, sign_up
from parley_client.models import (
    Attachment, CreateRoomParameters, Message, Poll, Room, SendMessageParameters, SignUpParameters, Token,
    TokenRequestParameters, TokenRequestParametersGrantType, UploadParameters,
)
from parley_client.types import UNSET, File

anonymous = Client(base_url=sys.argv[1], raise_on_unexpected_status=True)
me = sign_up.sync(client=anonymous, body=SignUpParameters(username="gina", password="correct horse battery"))
token = issue_token.sync(client=anonymous, body=TokenRequestParameters(
    grant_type=TokenRequestParametersGrantType.PASSWORD, username="gina", password="correct horse battery",
    client_id="documentation"))
assert isinstance(token, Token), token
api = AuthenticatedClient(base_url=sys.argv[1], token=token.access_token, raise_on_unexpected_status=True)
assert get_current_user.sync(client=api).id == me.id
room = create_room.sync(client=api, body=CreateRoomParameters(name="sdk"))
assert isinstance(room, Room) and room.last_message is None, room

say = lambda body, **more: send_message.sync(room.id, client=api, body=SendMessageParameters(body, **more))
sent = [say(f"hello {n}") for n in range(5)]
assert all(isinstance(message, Message) and message.author.username == "gina" for message in sent), sent
pages, before = [], UNSET
while True:
    answer = list_room_messages.sync_detailed(room.id, client=api, limit=2, before=before)
    if not answer.parsed:
        break
    pages.append([message.body for message in answer.parsed])
    before = answer.parsed[0].id
assert pages == [["hello 3", "hello 4"], ["hello 1", "hello 2"], ["hello 0"]], pages

reacted = add_reaction.sync(room.id, sent[0].id, "\N{THUMBS UP SIGN}", client=api)
assert [(r.emoji, r.count) for r in reacted.reactions] == [("\N{THUMBS UP SIGN}", 1)], reacted

upload = upload_file.sync(client=api, body=UploadParameters(
    file=File(payload=io.BytesIO(b"minutes"), file_name="minutes.txt", mime_type="text/plain")))
assert isinstance(upload, Attachment) and upload.size == 7, upload
with_file = say("see", attachment_ids=[upload.id])
assert [a.filename for a in with_file.attachments] == ["minutes.txt"], with_file
assert download_file.sync(upload.id, client=api).payload.read() == b"minutes"

caught_up = poll_events.sync(client=api, timeout=0)
assert isinstance(caught_up, Poll), caught_up
waiting = api.with_timeout(httpx.Timeout(30))
answers = []
poller = threading.Thread(target=lambda: answers.append(
    poll_events.sync(client=waiting, since=caught_up.last_event_id, timeout=20)))
poller.start()
say("while you wait")
poller.join(30)
events = answers[0].events
assert (events[0].type_, events[0].data["body"]) == ("message.created", "while you wait"), events
print("conversation held")
"""


def test_the_committed_sdk_holds_a_conversation(live_server: str) -> None:
    conversation = run_python(CONVERSATION, live_server)

    assert conversation.stdout.strip() == "conversation held", conversation.stdout + conversation.stderr


def test_the_readme_example_sends_a_message_through_the_sdk(live_server: str) -> None:
    readme = (ROOT / "README.md").read_text().split("## Python SDK", 1)[1]
    example = readme.split("```python\n", 1)[1].split("```", 1)[0]
    alice = {"username": "alice", "password": "correct horse battery"}
    assert httpx.post(f"{live_server}/api/v1/users", json=alice).status_code == 201

    ran = run_python(example.replace("http://127.0.0.1:8000", live_server))

    assert ran.returncode == 0, ran.stderr
    assert datetime.fromisoformat(ran.stdout.strip()).tzinfo is not None, ran.stdout
