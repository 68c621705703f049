from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.create_room_parameters_kind import CreateRoomParametersKind
from ..types import UNSET, Unset

T = TypeVar("T", bound="CreateRoomParameters")


@_attrs_define
class CreateRoomParameters:
    """
    Attributes:
        name (str):
        topic (str | Unset):
        kind (CreateRoomParametersKind | Unset):  Default: CreateRoomParametersKind.PRIVATE.
        members (list[str] | Unset): Usernames to add.
        message_ttl_seconds (int | None | Unset):
    """

    name: str
    topic: str | Unset = UNSET
    kind: CreateRoomParametersKind | Unset = CreateRoomParametersKind.PRIVATE
    members: list[str] | Unset = UNSET
    message_ttl_seconds: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        topic = self.topic

        kind: str | Unset = UNSET
        if not isinstance(self.kind, Unset):
            kind = self.kind.value

        members: list[str] | Unset = UNSET
        if not isinstance(self.members, Unset):
            members = self.members

        message_ttl_seconds: int | None | Unset
        if isinstance(self.message_ttl_seconds, Unset):
            message_ttl_seconds = UNSET
        else:
            message_ttl_seconds = self.message_ttl_seconds

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
            }
        )
        if topic is not UNSET:
            field_dict["topic"] = topic
        if kind is not UNSET:
            field_dict["kind"] = kind
        if members is not UNSET:
            field_dict["members"] = members
        if message_ttl_seconds is not UNSET:
            field_dict["message_ttl_seconds"] = message_ttl_seconds

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        topic = d.pop("topic", UNSET)

        _kind = d.pop("kind", UNSET)
        kind: CreateRoomParametersKind | Unset
        if isinstance(_kind, Unset):
            kind = UNSET
        else:
            kind = CreateRoomParametersKind(_kind)

        members = cast(list[str], d.pop("members", UNSET))

        def _parse_message_ttl_seconds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        message_ttl_seconds = _parse_message_ttl_seconds(d.pop("message_ttl_seconds", UNSET))

        create_room_parameters = cls(
            name=name,
            topic=topic,
            kind=kind,
            members=members,
            message_ttl_seconds=message_ttl_seconds,
        )

        return create_room_parameters
