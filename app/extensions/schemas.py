"""Base schemas: JSON bodies refuse unknown fields and loose booleans, query strings ignore extras."""

from typing import Any

from marshmallow import EXCLUDE, RAISE, ValidationError, fields, pre_load
from marshmallow import Schema as _Schema


class Schema(_Schema):
    class Meta:
        unknown = RAISE

    @pre_load
    def _refuse_loose_booleans(self, data: Any, **kwargs: Any) -> Any:
        """A boolean is JSON `true` or `false`: marshmallow would also take `"on"`, `0` or `"yes"`,
        and a typo'd client would silently get a setting it never asked for."""
        if not isinstance(data, dict):
            return data
        loose = {
            key: ["Not a boolean: send true or false."]
            for name, field in self.load_fields.items()
            if isinstance(field, fields.Boolean)
            and (key := field.data_key or name) in data
            and not isinstance(data[key], bool)
            and not (data[key] is None and field.allow_none)
        }
        if loose:
            raise ValidationError(loose)
        return data


class QuerySchema(_Schema):
    """Query strings tolerate extra parameters (cache busters, pagination read elsewhere)."""

    class Meta:
        unknown = EXCLUDE
