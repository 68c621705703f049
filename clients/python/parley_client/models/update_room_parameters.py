from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="UpdateRoomParameters")


@_attrs_define
class UpdateRoomParameters:
    """
    Attributes:
        name (str | Unset):
        topic (str | Unset):
        message_ttl_seconds (int | None | Unset):
    """

    name: str | Unset = UNSET
    topic: str | Unset = UNSET
    message_ttl_seconds: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        topic = self.topic

        message_ttl_seconds: int | None | Unset
        if isinstance(self.message_ttl_seconds, Unset):
            message_ttl_seconds = UNSET
        else:
            message_ttl_seconds = self.message_ttl_seconds

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if name is not UNSET:
            field_dict["name"] = name
        if topic is not UNSET:
            field_dict["topic"] = topic
        if message_ttl_seconds is not UNSET:
            field_dict["message_ttl_seconds"] = message_ttl_seconds

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name", UNSET)

        topic = d.pop("topic", UNSET)

        def _parse_message_ttl_seconds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        message_ttl_seconds = _parse_message_ttl_seconds(d.pop("message_ttl_seconds", UNSET))

        update_room_parameters = cls(
            name=name,
            topic=topic,
            message_ttl_seconds=message_ttl_seconds,
        )

        return update_room_parameters
