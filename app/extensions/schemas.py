"""Base schemas: JSON bodies refuse unknown fields, query strings ignore them."""

from marshmallow import EXCLUDE, RAISE
from marshmallow import Schema as _Schema


class Schema(_Schema):
    class Meta:
        unknown = RAISE


class QuerySchema(_Schema):
    """Query strings tolerate extra parameters (cache busters, pagination read elsewhere)."""

    class Meta:
        unknown = EXCLUDE
