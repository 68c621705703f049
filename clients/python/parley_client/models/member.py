from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..models.member_role import MemberRole

if TYPE_CHECKING:
    from ..models.user import User


T = TypeVar("T", bound="Member")


@_attrs_define
class Member:
    """
    Attributes:
        user (User):
        role (MemberRole):
        joined_at (datetime.datetime):
        last_read_message_id (int):
    """

    user: User
    role: MemberRole
    joined_at: datetime.datetime
    last_read_message_id: int

    def to_dict(self) -> dict[str, Any]:
        user = self.user.to_dict()

        role = self.role.value

        joined_at = self.joined_at.isoformat()

        last_read_message_id = self.last_read_message_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "user": user,
                "role": role,
                "joined_at": joined_at,
                "last_read_message_id": last_read_message_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.user import User  # noqa: PLC0415

        d = dict(src_dict)
        user = User.from_dict(d.pop("user"))

        role = MemberRole(d.pop("role"))

        joined_at = datetime.datetime.fromisoformat(d.pop("joined_at"))

        last_read_message_id = d.pop("last_read_message_id")

        member = cls(
            user=user,
            role=role,
            joined_at=joined_at,
            last_read_message_id=last_read_message_id,
        )

        return member
