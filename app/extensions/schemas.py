"""Base schemas: JSON bodies refuse unknown fields and loose booleans, query strings ignore extras."""

from typing import Any

from marshmallow import EXCLUDE, RAISE, ValidationError, fields, pre_load
from marshmallow import Schema as _Schema
from marshmallow.experimental.context import Context

#: What an answer is dumped for: `{"viewer": the user it is shown to}`, entered by the blueprint
#: around each view. A schema that shows a field to some viewers only reads the viewer here, never
#: the request, so it dumps the same object the same way for the same viewer anywhere.
DumpContext = Context[dict[str, Any]]


def viewer() -> Any:
    """The user the object being dumped is shown to; None outside an answer or without a token."""
    return DumpContext.get({}).get("viewer")


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
