from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.join_request_status import JoinRequestStatus

if TYPE_CHECKING:
    from ..models.user import User


T = TypeVar("T", bound="JoinRequest")


@_attrs_define
class JoinRequest:
    """
    Attributes:
        id (int):
        room_id (int):
        user (User):
        status (JoinRequestStatus):
        created_at (datetime.datetime):
        resolved_at (datetime.datetime | None):
    """

    id: int
    room_id: int
    user: User
    status: JoinRequestStatus
    created_at: datetime.datetime
    resolved_at: datetime.datetime | None

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        room_id = self.room_id

        user = self.user.to_dict()

        status = self.status.value

        created_at = self.created_at.isoformat()

        resolved_at: None | str
        if isinstance(self.resolved_at, datetime.datetime):
            resolved_at = self.resolved_at.isoformat()
        else:
            resolved_at = self.resolved_at

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "room_id": room_id,
                "user": user,
                "status": status,
                "created_at": created_at,
                "resolved_at": resolved_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.user import User  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        room_id = d.pop("room_id")

        user = User.from_dict(d.pop("user"))

        status = JoinRequestStatus(d.pop("status"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_resolved_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                resolved_at_type_0 = datetime.datetime.fromisoformat(data)

                return resolved_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        resolved_at = _parse_resolved_at(d.pop("resolved_at"))

        join_request = cls(
            id=id,
            room_id=room_id,
            user=user,
            status=status,
            created_at=created_at,
            resolved_at=resolved_at,
        )

        return join_request
