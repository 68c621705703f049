"""`@blp.resolve`, the extension every resource resolves its URL's objects with, on a small API of
its own (boxes holding notes): the object or the lookup's 404, the permission or a 403 naming what
is refused, after the input is validated, and both answers in the OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.views import MethodView
from marshmallow import Schema, fields

from app.extensions.api import Api, Blueprint, abort, permission
from config import TestingConfig
from tests.assertions import assert_error

BOXES: dict[int, dict[str, Any]] = {
    1: {"name": "open", "locked": False, "notes": {7: {"text": "hello", "sealed": False}}},
    2: {"name": "locked", "locked": True, "notes": {}},
    3: {"name": "sealed notes", "locked": False, "notes": {8: {"text": "secret", "sealed": True}}},
    4: {"name": "empty", "locked": False, "notes": {}},
}


def box_or_404(box_id: int, user: Any) -> dict[str, Any]:
    if box_id not in BOXES:
        abort(404, "No such box.")
    return BOXES[box_id]


def note_or_404(box: dict[str, Any], note_id: int) -> dict[str, Any]:
    if note_id not in box["notes"]:
        abort(404, "No such note in this box.")
    return box["notes"][note_id]


@permission("This box is locked.")
def is_open(box: dict[str, Any], user: Any) -> bool:
    return not box["locked"]


@permission("This box is empty.")
def has_notes(box: dict[str, Any], user: Any) -> bool:
    return bool(box["notes"])


@permission("This note is sealed.")
def is_unsealed(note: dict[str, Any], user: Any, box: dict[str, Any]) -> bool:
    return not note["sealed"]


class RenameParameters(Schema):
    name = fields.String(required=True)


blp = Blueprint("boxes", __name__, url_prefix="/boxes")


@blp.route("/<id:box_id>")
class BoxById(MethodView):
    @blp.doc(operationId="getBox")
    @blp.resolve("box_id", box_or_404)
    def get(self, box: dict[str, Any]) -> Any:
        return {"name": box["name"]}

    @blp.doc(operationId="renameBox")
    @blp.arguments(RenameParameters)
    @blp.resolve("box_id", box_or_404, is_open)
    def patch(self, args: dict[str, Any], box: dict[str, Any]) -> Any:
        return {"name": args["name"]}

    @blp.doc(operationId="emptyBox")
    @blp.resolve("box_id", box_or_404, is_open & has_notes)
    def delete(self, box: dict[str, Any]) -> Any:
        return {"emptied": box["name"]}


@blp.route("/<id:box_id>/notes/<id:note_id>")
class NoteById(MethodView):
    @blp.doc(operationId="readNote")
    @blp.resolve("box_id", box_or_404, is_open)
    @blp.resolve("note_id", note_or_404, is_unsealed, within="box")
    def get(self, box: dict[str, Any], note: dict[str, Any]) -> Any:
        return {"box": box["name"], "text": note["text"]}


@pytest.fixture(scope="module")
def boxes() -> Flask:
    app = Flask(__name__)
    app.config.from_object(TestingConfig)
    api = Api(app)
    api.register_blueprint(blp)
    return app


def test_the_method_receives_the_object_the_url_names(boxes):
    assert boxes.test_client().get("/boxes/1").get_json() == {"name": "open"}
    assert boxes.test_client().get("/boxes/1/notes/7").get_json() == {"box": "open", "text": "hello"}


def test_an_object_the_lookup_does_not_find_is_its_404(boxes):
    assert assert_error(boxes.test_client().get("/boxes/9"), 404)["message"] == "No such box."
    answer = boxes.test_client().get("/boxes/1/notes/8")
    assert assert_error(answer, 404)["message"] == "No such note in this box."


def test_a_refused_permission_is_a_403_saying_what_is_not_allowed_after_the_input_is_checked(boxes):
    answer = boxes.test_client().patch("/boxes/2", json={"name": "new"})
    assert assert_error(answer, 403)["message"] == "This box is locked."
    assert_error(boxes.test_client().patch("/boxes/2", json={"unknown": 1}), 422)
    assert boxes.test_client().patch("/boxes/1", json={"name": "new"}).get_json() == {"name": "new"}


def test_an_object_within_another_is_checked_after_its_parent_with_the_parent_at_hand(boxes):
    assert assert_error(boxes.test_client().get("/boxes/2/notes/7"), 403)["message"] == "This box is locked."
    assert assert_error(boxes.test_client().get("/boxes/3/notes/8"), 403)["message"] == "This note is sealed."


def test_permissions_combine_and_the_first_refusal_answers(boxes):
    assert assert_error(boxes.test_client().delete("/boxes/2"), 403)["message"] == "This box is locked."
    assert assert_error(boxes.test_client().delete("/boxes/4"), 403)["message"] == "This box is empty."
    assert boxes.test_client().delete("/boxes/1").get_json() == {"emptied": "open"}
    assert is_open(BOXES[1], None) and not is_open(BOXES[2], None)


def test_the_document_describes_the_404_and_every_403_an_operation_may_give(boxes):
    paths = boxes.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    read = paths["/boxes/{box_id}/notes/{note_id}"]["get"]["responses"]
    assert read["404"]["description"] == "Not found: no such box, or note that you may see"
    assert "This box is locked. This note is sealed." in read["403"]["description"]
    assert read["403"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    get = paths["/boxes/{box_id}"]["get"]["responses"]
    assert "403" not in get and get["404"]["description"] == "Not found: no such box that you may see"
