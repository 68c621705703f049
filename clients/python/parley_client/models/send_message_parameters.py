from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="SendMessageParameters")


@_attrs_define
class SendMessageParameters:
    """
    Attributes:
        body (str):
        parent_id (int | None | Unset): Reply to this message (same room).
        attachment_ids (list[int] | Unset): Your uploads (POST /api/v1/files) to attach, 10 at most.
        client_msg_id (str | Unset): Your id for it: sending it again returns the first message (200).
        send_at (datetime.datetime | Unset): Schedule it: an ISO 8601 time with its offset, in the future (30 days at
            most by default). Answers 202 with the pending message (GET /api/v1/users/me/scheduled).
    """

    body: str
    parent_id: int | None | Unset = UNSET
    attachment_ids: list[int] | Unset = UNSET
    client_msg_id: str | Unset = UNSET
    send_at: datetime.datetime | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        body = self.body

        parent_id: int | None | Unset
        if isinstance(self.parent_id, Unset):
            parent_id = UNSET
        else:
            parent_id = self.parent_id

        attachment_ids: list[int] | Unset = UNSET
        if not isinstance(self.attachment_ids, Unset):
            attachment_ids = self.attachment_ids

        client_msg_id = self.client_msg_id

        send_at: str | Unset = UNSET
        if not isinstance(self.send_at, Unset):
            send_at = self.send_at.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "body": body,
            }
        )
        if parent_id is not UNSET:
            field_dict["parent_id"] = parent_id
        if attachment_ids is not UNSET:
            field_dict["attachment_ids"] = attachment_ids
        if client_msg_id is not UNSET:
            field_dict["client_msg_id"] = client_msg_id
        if send_at is not UNSET:
            field_dict["send_at"] = send_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        body = d.pop("body")

        def _parse_parent_id(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        parent_id = _parse_parent_id(d.pop("parent_id", UNSET))

        attachment_ids = cast(list[int], d.pop("attachment_ids", UNSET))

        client_msg_id = d.pop("client_msg_id", UNSET)

        _send_at = d.pop("send_at", UNSET)
        send_at: datetime.datetime | Unset
        if isinstance(_send_at, Unset):
            send_at = UNSET
        else:
            send_at = datetime.datetime.fromisoformat(_send_at)

        send_message_parameters = cls(
            body=body,
            parent_id=parent_id,
            attachment_ids=attachment_ids,
            client_msg_id=client_msg_id,
            send_at=send_at,
        )

        return send_message_parameters
