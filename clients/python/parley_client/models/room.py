from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.room_kind import RoomKind

if TYPE_CHECKING:
    from ..models.message import Message


T = TypeVar("T", bound="Room")


@_attrs_define
class Room:
    """
    Attributes:
        id (int):
        name (str):
        topic (str):
        kind (RoomKind):
        owner_id (int | None):
        member_count (int):
        unread_count (int): Messages after your read marker; 0 if not a member.
        last_message (Message | None):
        message_ttl_seconds (int | None):
        role (None | str): Your role; null if not a member.
        created_at (datetime.datetime):
    """

    id: int
    name: str
    topic: str
    kind: RoomKind
    owner_id: int | None
    member_count: int
    unread_count: int
    last_message: Message | None
    message_ttl_seconds: int | None
    role: None | str
    created_at: datetime.datetime

    def to_dict(self) -> dict[str, Any]:
        from ..models.message import Message  # noqa: PLC0415

        id = self.id

        name = self.name

        topic = self.topic

        kind = self.kind.value

        owner_id: int | None
        owner_id = self.owner_id

        member_count = self.member_count

        unread_count = self.unread_count

        last_message: dict[str, Any] | None
        if isinstance(self.last_message, Message):
            last_message = self.last_message.to_dict()
        else:
            last_message = self.last_message

        message_ttl_seconds: int | None
        message_ttl_seconds = self.message_ttl_seconds

        role: None | str
        role = self.role

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "name": name,
                "topic": topic,
                "kind": kind,
                "owner_id": owner_id,
                "member_count": member_count,
                "unread_count": unread_count,
                "last_message": last_message,
                "message_ttl_seconds": message_ttl_seconds,
                "role": role,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.message import Message  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        topic = d.pop("topic")

        kind = RoomKind(d.pop("kind"))

        def _parse_owner_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        owner_id = _parse_owner_id(d.pop("owner_id"))

        member_count = d.pop("member_count")

        unread_count = d.pop("unread_count")

        def _parse_last_message(data: object) -> Message | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                last_message_type_0 = Message.from_dict(data)

                return last_message_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Message | None, data)

        last_message = _parse_last_message(d.pop("last_message"))

        def _parse_message_ttl_seconds(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        message_ttl_seconds = _parse_message_ttl_seconds(d.pop("message_ttl_seconds"))

        def _parse_role(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        role = _parse_role(d.pop("role"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        room = cls(
            id=id,
            name=name,
            topic=topic,
            kind=kind,
            owner_id=owner_id,
            member_count=member_count,
            unread_count=unread_count,
            last_message=last_message,
            message_ttl_seconds=message_ttl_seconds,
            role=role,
            created_at=created_at,
        )

        return room
