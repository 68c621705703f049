from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="PaginationMetadata")


@_attrs_define
class PaginationMetadata:
    """
    Attributes:
        total (int): Items in the whole collection
        total_pages (int): Pages of `page_size` items (0 when empty)
        page (int): This page's number, from 1
        page_size (int): Items per page (the `page_size` asked for)
    """

    total: int
    total_pages: int
    page: int
    page_size: int

    def to_dict(self) -> dict[str, Any]:
        total = self.total

        total_pages = self.total_pages

        page = self.page

        page_size = self.page_size

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "total": total,
                "total_pages": total_pages,
                "page": page,
                "page_size": page_size,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        total = d.pop("total")

        total_pages = d.pop("total_pages")

        page = d.pop("page")

        page_size = d.pop("page_size")

        pagination_metadata = cls(
            total=total,
            total_pages=total_pages,
            page=page,
            page_size=page_size,
        )

        return pagination_metadata
