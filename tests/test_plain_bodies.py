"""A JSON body the parser loads itself (parser.py's `_plain_body`) is loaded as marshmallow loads it.

For every body schema the app defines, any object the plain loader answers for must come out as the
schema's own `load` makes it; for any other it must step aside (None), so that marshmallow answers.
"""

from __future__ import annotations

import cProfile
import pstats
from typing import Any

import marshmallow
import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import validate

from app.extensions.api.parser import _plain_body
from app.extensions.schemas import Schema
from tests.rooms import create_room, messages_path

UNKNOWN = "not_a_field"


def _subclasses(kind: type) -> list[type]:
    found: list[type] = []
    sub: type
    for sub in kind.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


@pytest.fixture(scope="module")
def plain_schemas(app: Flask) -> list[marshmallow.Schema]:
    """An instance of each of the app's schemas that `_plain_body` loads (the app imports them all)."""
    with app.app_context():
        made = []
        for kind in _subclasses(Schema):
            try:
                made.append(kind())
            except TypeError:  # one that needs arguments: not a body's
                continue
        return [schema for schema in made if _plain_body(schema) is not None]


# Values of the wrong kind for one field or another: marshmallow reads some of them loosely (`1.0`,
# `"1"` as integers), which the plain loader must leave to it.
ODD_VALUES = [None, True, False, 0, 1, 1.0, 1.5, "", "1", "x", [], [1], {}, {"a": 1}, 2**40]


def near_the_edges(field: marshmallow.fields.Field) -> list[Any]:
    """Values at and just past each bound of `field`'s validators, and its choices: what a loader
    that reads a bound wrong would take or refuse wrongly."""
    values: list[Any] = []
    for check in field.validators:
        if isinstance(check, validate.Range):
            values += [b + d for b in (check.min, check.max) if b is not None for d in (-1, 0, 1)]
        elif isinstance(check, validate.Length):
            ends = [check.equal] if check.equal is not None else [check.min or 0, check.max or 70]
            values += ["é" * max(0, n + d) for n in ends for d in (-1, 0, 1)]
        elif isinstance(check, validate.OneOf):
            values += [*check.choices, "not-a-choice"]
    return values


def test_the_message_body_and_others_are_plain(plain_schemas: list[marshmallow.Schema]) -> None:
    """The test below has something to check: the send's body schema among about thirty."""
    names = {type(schema).__name__ for schema in plain_schemas}
    assert {"SendMessageParameters", "EditMessageParameters", "UpdateRoomParameters"} <= names


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_what_the_plain_loader_loads_is_what_the_schema_loads(
    plain_schemas: list[marshmallow.Schema], data: st.DataObject
) -> None:
    schema = data.draw(st.sampled_from(plain_schemas))
    body: dict[str, Any] = {}
    for name, field in schema.load_fields.items():
        if data.draw(st.integers(0, 4)):  # most bodies give most fields: a missing one ends the load
            body[field.data_key or name] = data.draw(st.sampled_from(near_the_edges(field) + ODD_VALUES))
    if not data.draw(st.integers(0, 9)):
        body[UNKNOWN] = 1
    loaded = _plain_body(schema)(body)  # type: ignore[misc]
    try:
        expected = schema.load(body)
    except marshmallow.ValidationError:
        assert loaded is None, (type(schema).__name__, body)
        return
    assert loaded is None or loaded == expected, (type(schema).__name__, body)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "hi", "parent_id": [1]}, "parent_id"),
        ({"body": "hi", "parent_id": "x"}, "parent_id"),
        ({"body": "hi", "parent_id": True}, "parent_id"),
        ({"body": "hi", "client_msg_id": ""}, "client_msg_id"),
        ({"body": 7}, "body"),
        ({"body": None}, "body"),
        ({"body": "hi", "extra": 1}, "extra"),
        ({}, "body"),
    ],
)
def test_a_body_the_plain_loader_steps_aside_for_gets_marshmallows_422(client, alice, body, field) -> None:
    room_id = create_room(client, alice)["id"]
    refused = client.post(messages_path(room_id), headers=alice.headers, json=body)
    assert refused.status_code == 422
    assert list(refused.get_json()["errors"]["json"]) == [field]
    assert refused.get_json()["errors"]["json"][field] != ["No such message in this room."]  # the schema's


def test_a_plain_body_sends_as_before(client, alice) -> None:
    room_id = create_room(client, alice)["id"]
    sent = client.post(messages_path(room_id), headers=alice.headers, json={"body": "hi", "parent_id": None})
    assert sent.status_code == 201
    assert (sent.get_json()["body"], sent.get_json()["parent_id"]) == ("hi", None)


def test_a_plain_body_is_loaded_without_marshmallow(client, alice) -> None:
    """Loading a message's body through webargs and marshmallow cost about 80 calls of a send's."""
    room_id = create_room(client, alice)["id"]
    send = lambda: client.post(messages_path(room_id), headers=alice.headers, json={"body": "hi"})  # noqa: E731
    send()
    profiler = cProfile.Profile()
    assert profiler.runcall(send).status_code == 201
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    assert not [name for (file, _, name) in stats if file == marshmallow.schema.__file__ and name == "load"]
