"""How uploaded files are shown."""

from __future__ import annotations

from typing import Any

from flask import current_app
from marshmallow import fields

from app.extensions.schemas import Schema


class AttachmentSchema(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer(metadata={"description": "Bytes."})
    url = fields.Method("get_url", metadata={"type": "string"})
    created_at = fields.DateTime()

    def get_url(self, attachment: Any) -> str:
        """A path built from the URL map alone: a message dumps the same in a request and in the
        scheduler, which sends scheduled messages outside any request."""
        return current_app.url_map.bind("").build("files.FileById", {"file_id": attachment.id})
