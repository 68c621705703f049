from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="Report")


@_attrs_define
class Report:
    """
    Attributes:
        id (int):
        reported_user_id (int):
        reason (str):
        message_id (int | None):
        created_at (datetime.datetime):
    """

    id: int
    reported_user_id: int
    reason: str
    message_id: int | None
    created_at: datetime.datetime

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        reported_user_id = self.reported_user_id

        reason = self.reason

        message_id: int | None
        message_id = self.message_id

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "reported_user_id": reported_user_id,
                "reason": reason,
                "message_id": message_id,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        reported_user_id = d.pop("reported_user_id")

        reason = d.pop("reason")

        def _parse_message_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        message_id = _parse_message_id(d.pop("message_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        report = cls(
            id=id,
            reported_user_id=reported_user_id,
            reason=reason,
            message_id=message_id,
            created_at=created_at,
        )

        return report
