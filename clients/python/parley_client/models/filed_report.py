from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="FiledReport")


@_attrs_define
class FiledReport:
    """
    Attributes:
        id (int):
        reported_user_id (int):
        reason (str):
        message_id (int | None):
        created_at (datetime.datetime):
        reporter_id (int):
    """

    id: int
    reported_user_id: int
    reason: str
    message_id: int | None
    created_at: datetime.datetime
    reporter_id: int

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        reported_user_id = self.reported_user_id

        reason = self.reason

        message_id: int | None
        message_id = self.message_id

        created_at = self.created_at.isoformat()

        reporter_id = self.reporter_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "reported_user_id": reported_user_id,
                "reason": reason,
                "message_id": message_id,
                "created_at": created_at,
                "reporter_id": reporter_id,
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

        reporter_id = d.pop("reporter_id")

        filed_report = cls(
            id=id,
            reported_user_id=reported_user_id,
            reason=reason,
            message_id=message_id,
            created_at=created_at,
            reporter_id=reporter_id,
        )

        return filed_report
