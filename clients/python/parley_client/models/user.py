from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="User")


@_attrs_define
class User:
    """
    Attributes:
        id (int):
        username (str):  Example: alice.
        display_name (None | str):
        created_at (datetime.datetime):
        deleted (bool):
        email (None | str | Unset): Only for yourself and admins.
    """

    id: int
    username: str
    display_name: None | str
    created_at: datetime.datetime
    deleted: bool
    email: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        username = self.username

        display_name: None | str
        display_name = self.display_name

        created_at = self.created_at.isoformat()

        deleted = self.deleted

        email: None | str | Unset
        if isinstance(self.email, Unset):
            email = UNSET
        else:
            email = self.email

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "username": username,
                "display_name": display_name,
                "created_at": created_at,
                "deleted": deleted,
            }
        )
        if email is not UNSET:
            field_dict["email"] = email

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

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        deleted = d.pop("deleted")

        def _parse_email(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        email = _parse_email(d.pop("email", UNSET))

        user = cls(
            id=id,
            username=username,
            display_name=display_name,
            created_at=created_at,
            deleted=deleted,
            email=email,
        )

        return user
