from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="Reaction")


@_attrs_define
class Reaction:
    """
    Attributes:
        emoji (str):
        count (int):
        me (bool): Whether you gave this one.
    """

    emoji: str
    count: int
    me: bool

    def to_dict(self) -> dict[str, Any]:
        emoji = self.emoji

        count = self.count

        me = self.me

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "emoji": emoji,
                "count": count,
                "me": me,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        emoji = d.pop("emoji")

        count = d.pop("count")

        me = d.pop("me")

        reaction = cls(
            emoji=emoji,
            count=count,
            me=me,
        )

        return reaction
