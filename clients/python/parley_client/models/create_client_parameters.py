from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="CreateClientParameters")


@_attrs_define
class CreateClientParameters:
    """
    Attributes:
        name (str):
        confidential (bool | Unset):  Default: True.
        redirect_uris (list[str] | Unset): https, or http on a loopback address; no fragment.
        scope (str | Unset): Space-separated scopes, within those of the token that registers the client; that token's
            scopes when omitted. Example: users:read rooms:read.
    """

    name: str
    confidential: bool | Unset = True
    redirect_uris: list[str] | Unset = UNSET
    scope: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        confidential = self.confidential

        redirect_uris: list[str] | Unset = UNSET
        if not isinstance(self.redirect_uris, Unset):
            redirect_uris = self.redirect_uris

        scope = self.scope

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
            }
        )
        if confidential is not UNSET:
            field_dict["confidential"] = confidential
        if redirect_uris is not UNSET:
            field_dict["redirect_uris"] = redirect_uris
        if scope is not UNSET:
            field_dict["scope"] = scope

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        confidential = d.pop("confidential", UNSET)

        redirect_uris = cast(list[str], d.pop("redirect_uris", UNSET))

        scope = d.pop("scope", UNSET)

        create_client_parameters = cls(
            name=name,
            confidential=confidential,
            redirect_uris=redirect_uris,
            scope=scope,
        )

        return create_client_parameters
