from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="CreateInviteParameters")


@_attrs_define
class CreateInviteParameters:
    """
    Attributes:
        expires_in (int | None | Unset): Seconds until the link stops working; never when omitted.
        max_uses (int | None | Unset):
        requires_approval (bool | Unset):  Default: True.
    """

    expires_in: int | None | Unset = UNSET
    max_uses: int | None | Unset = UNSET
    requires_approval: bool | Unset = True

    def to_dict(self) -> dict[str, Any]:
        expires_in: int | None | Unset
        if isinstance(self.expires_in, Unset):
            expires_in = UNSET
        else:
            expires_in = self.expires_in

        max_uses: int | None | Unset
        if isinstance(self.max_uses, Unset):
            max_uses = UNSET
        else:
            max_uses = self.max_uses

        requires_approval = self.requires_approval

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if expires_in is not UNSET:
            field_dict["expires_in"] = expires_in
        if max_uses is not UNSET:
            field_dict["max_uses"] = max_uses
        if requires_approval is not UNSET:
            field_dict["requires_approval"] = requires_approval

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_expires_in(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        expires_in = _parse_expires_in(d.pop("expires_in", UNSET))

        def _parse_max_uses(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_uses = _parse_max_uses(d.pop("max_uses", UNSET))

        requires_approval = d.pop("requires_approval", UNSET)

        create_invite_parameters = cls(
            expires_in=expires_in,
            max_uses=max_uses,
            requires_approval=requires_approval,
        )

        return create_invite_parameters
