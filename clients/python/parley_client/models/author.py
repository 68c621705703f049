from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="Author")


@_attrs_define
class Author:
    """
    Attributes:
        id (int):
        username (str):  Example: alice.
        display_name (None | str):
    """

    id: int
    username: str
    display_name: None | str

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        username = self.username

        display_name: None | str
        display_name = self.display_name

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "username": username,
                "display_name": display_name,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        username = d.pop("username")

        def _parse_display_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        display_name = _parse_display_name(d.pop("display_name"))

        author = cls(
            id=id,
            username=username,
            display_name=display_name,
        )

        return author
