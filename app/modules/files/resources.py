"""/api/v1/files: uploads and downloads."""

from __future__ import annotations

from typing import Any

from flask import send_file, url_for
from flask.typing import ResponseReturnValue
from flask.views import MethodView

from app.extensions.api import Blueprint, links_to
from app.extensions.auth import current_user
from app.modules.users.permissions import unbanned

from . import services
from .models import Attachment
from .parameters import UploadParameters
from .schemas import AttachmentSchema

blp = Blueprint("files", __name__, url_prefix="/api/v1/files", description="File uploads and downloads")


@blp.route("")
class Files(MethodView):
    @blp.doc(operationId="uploadFile")
    @blp.auth_required("messages:write")
    @blp.arguments(UploadParameters, location="files")
    @blp.response(201, AttachmentSchema, links=links_to("downloadFile", file_id="$response.body#/id"))
    @blp.doc(responses={"413": "REQUEST_ENTITY_TOO_LARGE"})
    @unbanned
    def post(self, args: dict[str, Any]) -> tuple[Attachment, int, dict[str, str]]:
        """Upload a file (multipart `file`, 5 MB at most); attach it by sending its id in `attachment_ids`

        Unattached uploads are removed after a while: attach the file to a message soon. Larger bodies are
        refused with 413.
        """
        attachment = services.store(args["file"], current_user)
        return attachment, 201, {"Location": url_for("files.FileById", file_id=attachment.id)}


@blp.route("/<id:file_id>")
class FileById(MethodView):
    @blp.doc(operationId="downloadFile")
    @blp.auth_required("messages:read")
    @blp.resolve("file_id", services.get_readable_or_404)
    @blp.response(200, {"format": "binary", "type": "string"}, content_type="application/octet-stream")
    def get(self, file: Attachment) -> ResponseReturnValue:
        """Download a file: yours before it is attached, then anyone who can read its message

        Served as an attachment with its original name and type; a file you may not read is a 404, like one
        that does not exist.
        """
        response = send_file(
            services.path_of(file),
            mimetype=file.content_type,
            as_attachment=True,
            download_name=file.filename,
            max_age=0,
        )
        # Never rendered by the browser as the type the uploader claimed (no stored XSS).
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response
