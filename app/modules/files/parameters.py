"""What the files endpoint accepts."""

from flask_smorest.fields import Upload

from app.extensions.schemas import Schema


class UploadParameters(Schema):
    file = Upload(required=True, metadata={"description": "The file (multipart/form-data), 5 MB at most."})
