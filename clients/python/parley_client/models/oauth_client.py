from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="OAuthClient")


@_attrs_define
class OAuthClient:
    """
    Attributes:
        client_id (str):
        name (str):
        confidential (bool):
        redirect_uris (list[str]):
        grant_types (list[str]):
        scope (str):
        created_at (datetime.datetime):
    """

    client_id: str
    name: str
    confidential: bool
    redirect_uris: list[str]
    grant_types: list[str]
    scope: str
    created_at: datetime.datetime

    def to_dict(self) -> dict[str, Any]:
        client_id = self.client_id

        name = self.name

        confidential = self.confidential

        redirect_uris = self.redirect_uris

        grant_types = self.grant_types

        scope = self.scope

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "client_id": client_id,
                "name": name,
                "confidential": confidential,
                "redirect_uris": redirect_uris,
                "grant_types": grant_types,
                "scope": scope,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        client_id = d.pop("client_id")

        name = d.pop("name")

        confidential = d.pop("confidential")

        redirect_uris = cast(list[str], d.pop("redirect_uris"))

        grant_types = cast(list[str], d.pop("grant_types"))

        scope = d.pop("scope")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        oauth_client = cls(
            client_id=client_id,
            name=name,
            confidential=confidential,
            redirect_uris=redirect_uris,
            grant_types=grant_types,
            scope=scope,
            created_at=created_at,
        )

        return oauth_client
