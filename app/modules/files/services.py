"""Storing, serving and removing uploaded files."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Integer, Select, bindparam, delete, exists, or_, select, update
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from app.extensions.api import abort
from app.extensions.database import db, utcnow
from app.modules.messages.models import Message, live
from app.modules.rooms.models import Membership
from app.modules.users.models import User

from .models import Attachment

CHUNK = 64 * 1024
PENDING_REMOVAL = "parley.files.pending_removal"


def _path(storage_key: str) -> Path:
    """Two levels of fan-out keep directories small."""
    return Path(current_app.config["UPLOAD_DIR"]) / storage_key[:2] / storage_key[2:4] / storage_key


def _base_name(filename: str | None) -> str:
    """The name without any directory part a client put in it (kept as metadata only)."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name.strip()
    return name[:255] or "upload"


def store(upload: FileStorage, uploader: User) -> Attachment:
    """Copy the upload to disk under a random name, refusing it past the size limit (413).

    A banned user may not post what they upload, so they may not upload either (403).
    """
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    key = secrets.token_hex(16)
    path = _path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with path.open("wb") as out:
        while chunk := upload.stream.read(CHUNK):
            size += len(chunk)
            if size > limit:
                out.close()
                path.unlink()
                abort(413, f"Files are limited to {limit} bytes.", errors={"files": {"file": ["Too large."]}})
            out.write(chunk)
    attachment = Attachment(
        uploader_id=uploader.id,
        storage_key=key,
        size=size,
        filename=_base_name(upload.filename),
        content_type=(upload.mimetype or "application/octet-stream")[:127],
    )
    db.session.add(attachment)
    db.session.commit()
    return attachment


def get_readable_or_404(file_id: int, user: User) -> Attachment:
    """The uploader sees it until it is attached; then whoever can read the message carrying it.

    A message past its room's TTL is read by nobody: its files neither, before the sweep too.
    """
    attachment = db.session.get(Attachment, file_id)
    if attachment is not None and attachment.message_id is None:
        visible = attachment.uploader_id == user.id
    elif attachment is not None:
        visible = (
            db.session.scalar(
                select(Membership.user_id)
                .join(Message, Message.room_id == Membership.room_id)
                .where(Message.id == attachment.message_id, Membership.user_id == user.id, live())
            )
            is not None
        )
    else:
        visible = False
    if attachment is None or not visible:
        abort(404, "No such file.")
    return attachment


def path_of(attachment: Attachment) -> Path:
    return _path(attachment.storage_key)


def _attachable(author: User, attachment_ids: list[int]) -> list[Attachment]:
    """The sender's own unattached uploads among `attachment_ids`, locked until commit."""
    return list(
        db.session.scalars(
            select(Attachment)
            .where(
                Attachment.id.in_(set(attachment_ids)),
                Attachment.uploader_id == author.id,
                Attachment.message_id.is_(None),
            )
            .with_for_update()
        )
    )


def _missing(attachment_ids: list[int], found: list[Attachment]) -> list[int]:
    return sorted(set(attachment_ids) - {a.id for a in found})


def unattachable(author: User, attachment_ids: list[int]) -> list[int]:
    """The ids `author` could not attach now (not theirs, already attached, or gone)."""
    return _missing(attachment_ids, _attachable(author, attachment_ids))


def refuse_unattachable(missing: list[int]) -> None:
    if missing:
        abort(
            422,
            "Attach only your own files that are not attached yet.",
            errors={"json": {"attachment_ids": [f"Not attachable: {missing}"]}},
        )


def attach(message: Message, author: User, attachment_ids: list[int]) -> None:
    """Link the sender's own unattached uploads to `message` (in the caller's transaction)."""
    found = _attachable(author, attachment_ids)
    refuse_unattachable(_missing(attachment_ids, found))
    for attachment in found:
        attachment.message_id = message.id


@cache
def _attachments_of() -> Select:
    """The files of a set of messages, in the order attached: built once (expanding IN)."""
    ids = bindparam("ids", expanding=True, type_=Integer)
    return select(Attachment).where(Attachment.message_id.in_(ids)).order_by(Attachment.id)


def carries_any(message_id: ColumnElement[int]) -> ColumnElement[bool]:
    """Whether the message `message_id` has files: a page asks for them (`attached_to`) only then."""
    return exists().where(Attachment.__table__.c.message_id == message_id)


def attached_to(message_ids: Collection[int]) -> dict[int, list[Attachment]]:
    """Each message's files, in the order attached: one statement for all of them, none for none."""
    if not message_ids:
        return {}
    found: dict[int, list[Attachment]] = {message_id: [] for message_id in message_ids}
    for attachment in db.session.scalars(_attachments_of(), {"ids": list(message_ids)}):
        found[attachment.message_id].append(attachment)
    return found


def reserve(attachment_ids: list[int], until: datetime) -> None:
    """Keep these uploads from the purge until `until` (in the caller's transaction): a message
    scheduled days ahead attaches them only when it goes out. A later reservation never
    shortens an earlier one."""
    db.session.execute(
        update(Attachment)
        .where(
            Attachment.id.in_(set(attachment_ids)),
            or_(Attachment.reserved_until.is_(None), Attachment.reserved_until < until),
        )
        .values(reserved_until=until)
    )


def _delete(condition: Any) -> int:
    """Delete attachment rows in the caller's transaction; their files go when it commits."""
    keys = list(db.session.scalars(select(Attachment.storage_key).where(condition)))
    db.session.execute(delete(Attachment).where(condition))
    db.session.info.setdefault(PENDING_REMOVAL, []).extend(keys)
    return len(keys)


def detach(messages: Select) -> None:
    """Delete the attachments of `messages` (a select of message ids)."""
    _delete(Attachment.message_id.in_(messages))


def purge_unattached() -> int:
    """Delete uploads nobody attached within a day and no scheduled message holds (the job
    `files.purge_unattached`)."""
    now = utcnow()
    cutoff = now - timedelta(seconds=current_app.config["UNATTACHED_UPLOAD_TTL_SECONDS"])
    unreserved = or_(Attachment.reserved_until.is_(None), Attachment.reserved_until < now)
    purged = _delete(Attachment.message_id.is_(None) & (Attachment.created_at < cutoff) & unreserved)
    db.session.commit()
    return purged


def remove_files(session: Session) -> None:
    """Files leave the disk only once the rows that named them are gone for good."""
    for key in session.info.pop(PENDING_REMOVAL, []):
        _path(key).unlink(missing_ok=True)


def keep_files(session: Session) -> None:
    session.info.pop(PENDING_REMOVAL, None)
