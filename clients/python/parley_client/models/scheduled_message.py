from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.scheduled_message_status import ScheduledMessageStatus

T = TypeVar("T", bound="ScheduledMessage")


@_attrs_define
class ScheduledMessage:
    """
    Attributes:
        id (int):
        room_id (int):
        body (str):
        parent_id (int | None):
        attachment_ids (list[int]): Attached when it is sent.
        client_msg_id (None | str):
        send_at (datetime.datetime):
        status (ScheduledMessageStatus): `cancelled` only in events.
        failure_reason (None | str): Why it was not sent: not_a_member, banned, account_deleted, parent_deleted,
            attachments_gone, rejected.
        created_at (datetime.datetime):
    """

    id: int
    room_id: int
    body: str
    parent_id: int | None
    attachment_ids: list[int]
    client_msg_id: None | str
    send_at: datetime.datetime
    status: ScheduledMessageStatus
    failure_reason: None | str
    created_at: datetime.datetime

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        room_id = self.room_id

        body = self.body

        parent_id: int | None
        parent_id = self.parent_id

        attachment_ids = self.attachment_ids

        client_msg_id: None | str
        client_msg_id = self.client_msg_id

        send_at = self.send_at.isoformat()

        status = self.status.value

        failure_reason: None | str
        failure_reason = self.failure_reason

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "room_id": room_id,
                "body": body,
                "parent_id": parent_id,
                "attachment_ids": attachment_ids,
                "client_msg_id": client_msg_id,
                "send_at": send_at,
                "status": status,
                "failure_reason": failure_reason,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        room_id = d.pop("room_id")

        body = d.pop("body")

        def _parse_parent_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        parent_id = _parse_parent_id(d.pop("parent_id"))

        attachment_ids = cast(list[int], d.pop("attachment_ids"))

        def _parse_client_msg_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        client_msg_id = _parse_client_msg_id(d.pop("client_msg_id"))

        send_at = datetime.datetime.fromisoformat(d.pop("send_at"))

        status = ScheduledMessageStatus(d.pop("status"))

        def _parse_failure_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        failure_reason = _parse_failure_reason(d.pop("failure_reason"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        scheduled_message = cls(
            id=id,
            room_id=room_id,
            body=body,
            parent_id=parent_id,
            attachment_ids=attachment_ids,
            client_msg_id=client_msg_id,
            send_at=send_at,
            status=status,
            failure_reason=failure_reason,
            created_at=created_at,
        )

        return scheduled_message
