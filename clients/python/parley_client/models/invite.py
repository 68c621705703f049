from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="Invite")


@_attrs_define
class Invite:
    """
    Attributes:
        id (int): Addresses the invite in place of its code.
        code_prefix (str): The code's first characters, to tell links apart.
        room_id (int):
        expires_at (datetime.datetime | None):
        max_uses (int | None):
        uses (int):
        requires_approval (bool):
        created_at (datetime.datetime):
    """

    id: int
    code_prefix: str
    room_id: int
    expires_at: datetime.datetime | None
    max_uses: int | None
    uses: int
    requires_approval: bool
    created_at: datetime.datetime

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        code_prefix = self.code_prefix

        room_id = self.room_id

        expires_at: None | str
        if isinstance(self.expires_at, datetime.datetime):
            expires_at = self.expires_at.isoformat()
        else:
            expires_at = self.expires_at

        max_uses: int | None
        max_uses = self.max_uses

        uses = self.uses

        requires_approval = self.requires_approval

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "code_prefix": code_prefix,
                "room_id": room_id,
                "expires_at": expires_at,
                "max_uses": max_uses,
                "uses": uses,
                "requires_approval": requires_approval,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        code_prefix = d.pop("code_prefix")

        room_id = d.pop("room_id")

        def _parse_expires_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                expires_at_type_0 = datetime.datetime.fromisoformat(data)

                return expires_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        expires_at = _parse_expires_at(d.pop("expires_at"))

        def _parse_max_uses(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        max_uses = _parse_max_uses(d.pop("max_uses"))

        uses = d.pop("uses")

        requires_approval = d.pop("requires_approval")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        invite = cls(
            id=id,
            code_prefix=code_prefix,
            room_id=room_id,
            expires_at=expires_at,
            max_uses=max_uses,
            uses=uses,
            requires_approval=requires_approval,
            created_at=created_at,
        )

        return invite
