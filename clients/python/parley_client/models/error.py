from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.error_errors import ErrorErrors


T = TypeVar("T", bound="Error")


@_attrs_define
class Error:
    """
    Attributes:
        code (int): HTTP status code Example: 422.
        status (str): HTTP status name Example: Unprocessable Entity.
        message (str): Human-readable summary Example: The request has invalid fields..
        errors (ErrorErrors | Unset): Bad fields by location (`json`, `query`, `files`, `headers`) Example: {'json':
            {'body': ['Missing data for required field.']}}.
    """

    code: int
    status: str
    message: str
    errors: ErrorErrors | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        code = self.code

        status = self.status

        message = self.message

        errors: dict[str, Any] | Unset = UNSET
        if not isinstance(self.errors, Unset):
            errors = self.errors.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "code": code,
                "status": status,
                "message": message,
            }
        )
        if errors is not UNSET:
            field_dict["errors"] = errors

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.error_errors import ErrorErrors  # noqa: PLC0415

        d = dict(src_dict)
        code = d.pop("code")

        status = d.pop("status")

        message = d.pop("message")

        _errors = d.pop("errors", UNSET)
        errors: ErrorErrors | Unset
        if isinstance(_errors, Unset):
            errors = UNSET
        else:
            errors = ErrorErrors.from_dict(_errors)

        error = cls(
            code=code,
            status=status,
            message=message,
            errors=errors,
        )

        return error
