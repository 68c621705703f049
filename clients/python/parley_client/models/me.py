from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="Me")


@_attrs_define
class Me:
    """
    Attributes:
        id (int):
        username (str):  Example: alice.
        display_name (None | str):
        created_at (datetime.datetime):
        deleted (bool):
        email (None | str):
        is_admin (bool):
        banned_until (datetime.datetime | None): Reports stopped you posting until then.
    """

    id: int
    username: str
    display_name: None | str
    created_at: datetime.datetime
    deleted: bool
    email: None | str
    is_admin: bool
    banned_until: datetime.datetime | None

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        username = self.username

        display_name: None | str
        display_name = self.display_name

        created_at = self.created_at.isoformat()

        deleted = self.deleted

        email: None | str
        email = self.email

        is_admin = self.is_admin

        banned_until: None | str
        if isinstance(self.banned_until, datetime.datetime):
            banned_until = self.banned_until.isoformat()
        else:
            banned_until = self.banned_until

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "username": username,
                "display_name": display_name,
                "created_at": created_at,
                "deleted": deleted,
                "email": email,
                "is_admin": is_admin,
                "banned_until": banned_until,
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

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        deleted = d.pop("deleted")

        def _parse_email(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        email = _parse_email(d.pop("email"))

        is_admin = d.pop("is_admin")

        def _parse_banned_until(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                banned_until_type_0 = datetime.datetime.fromisoformat(data)

                return banned_until_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        banned_until = _parse_banned_until(d.pop("banned_until"))

        me = cls(
            id=id,
            username=username,
            display_name=display_name,
            created_at=created_at,
            deleted=deleted,
            email=email,
            is_admin=is_admin,
            banned_until=banned_until,
        )

        return me
