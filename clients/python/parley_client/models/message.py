from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.attachment import Attachment
    from ..models.author import Author
    from ..models.reaction import Reaction


T = TypeVar("T", bound="Message")


@_attrs_define
class Message:
    """
    Attributes:
        id (int):
        room_id (int):
        author (Author | None):
        body (str):
        parent_id (int | None):
        reply_count (int):
        attachments (list[Attachment]):
        reactions (list[Reaction]): In the order first given; none on a deleted message.
        created_at (datetime.datetime):
        edited_at (datetime.datetime | None):
        send_at (datetime.datetime | None): When it was scheduled for (null: sent at once).
        deleted (bool):
    """

    id: int
    room_id: int
    author: Author | None
    body: str
    parent_id: int | None
    reply_count: int
    attachments: list[Attachment]
    reactions: list[Reaction]
    created_at: datetime.datetime
    edited_at: datetime.datetime | None
    send_at: datetime.datetime | None
    deleted: bool

    def to_dict(self) -> dict[str, Any]:
        from ..models.author import Author  # noqa: PLC0415

        id = self.id

        room_id = self.room_id

        author: dict[str, Any] | None
        if isinstance(self.author, Author):
            author = self.author.to_dict()
        else:
            author = self.author

        body = self.body

        parent_id: int | None
        parent_id = self.parent_id

        reply_count = self.reply_count

        attachments = []
        for attachments_item_data in self.attachments:
            attachments_item = attachments_item_data.to_dict()
            attachments.append(attachments_item)

        reactions = []
        for reactions_item_data in self.reactions:
            reactions_item = reactions_item_data.to_dict()
            reactions.append(reactions_item)

        created_at = self.created_at.isoformat()

        edited_at: None | str
        if isinstance(self.edited_at, datetime.datetime):
            edited_at = self.edited_at.isoformat()
        else:
            edited_at = self.edited_at

        send_at: None | str
        if isinstance(self.send_at, datetime.datetime):
            send_at = self.send_at.isoformat()
        else:
            send_at = self.send_at

        deleted = self.deleted

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "room_id": room_id,
                "author": author,
                "body": body,
                "parent_id": parent_id,
                "reply_count": reply_count,
                "attachments": attachments,
                "reactions": reactions,
                "created_at": created_at,
                "edited_at": edited_at,
                "send_at": send_at,
                "deleted": deleted,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.attachment import Attachment  # noqa: PLC0415
        from ..models.author import Author  # noqa: PLC0415
        from ..models.reaction import Reaction  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        room_id = d.pop("room_id")

        def _parse_author(data: object) -> Author | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                author_type_0 = Author.from_dict(data)

                return author_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Author | None, data)

        author = _parse_author(d.pop("author"))

        body = d.pop("body")

        def _parse_parent_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        parent_id = _parse_parent_id(d.pop("parent_id"))

        reply_count = d.pop("reply_count")

        attachments = []
        _attachments = d.pop("attachments")
        for attachments_item_data in _attachments:
            attachments_item = Attachment.from_dict(attachments_item_data)

            attachments.append(attachments_item)

        reactions = []
        _reactions = d.pop("reactions")
        for reactions_item_data in _reactions:
            reactions_item = Reaction.from_dict(reactions_item_data)

            reactions.append(reactions_item)

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_edited_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                edited_at_type_0 = datetime.datetime.fromisoformat(data)

                return edited_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        edited_at = _parse_edited_at(d.pop("edited_at"))

        def _parse_send_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                send_at_type_0 = datetime.datetime.fromisoformat(data)

                return send_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        send_at = _parse_send_at(d.pop("send_at"))

        deleted = d.pop("deleted")

        message = cls(
            id=id,
            room_id=room_id,
            author=author,
            body=body,
            parent_id=parent_id,
            reply_count=reply_count,
            attachments=attachments,
            reactions=reactions,
            created_at=created_at,
            edited_at=edited_at,
            send_at=send_at,
            deleted=deleted,
        )

        return message
