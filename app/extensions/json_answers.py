"""JSON answers encoded by orjson, byte for byte what Flask's own encoder writes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from flask.json.provider import DefaultJSONProvider

if TYPE_CHECKING:
    from werkzeug.sansio.response import Response

# Types whose stdlib encoding differs from orjson's (Flask writes a datetime as an HTTP date, a
# dataclass through `asdict`): orjson hands them to `_unlike_orjson`, and the answer to the stdlib.
_STDLIB_TYPES = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _unlike_orjson(value: Any) -> Any:
    raise TypeError(type(value).__name__)


class JSONAnswers(DefaultJSONProvider):
    """Flask's provider (keys in the schemas' order, compact, ASCII only), its answers encoded
    by orjson: the stdlib encoder was a tenth of a 50-room `/rooms` and 4 % of a history page.

    orjson writes characters past ASCII (and DEL) as they are where `ensure_ascii` escapes them,
    and refuses integers past 64 bits, keys that are not strings and the types above: any of
    those, and the answer is the stdlib's. `dumps` (templates, Authlib) stays the stdlib's.
    """

    sort_keys = False

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if not (self.compact is False or (self.compact is None and self._app.debug)):
            value = self._prepare_response_obj(args, kwargs)
            try:
                body = orjson.dumps(value, default=_unlike_orjson, option=_STDLIB_TYPES)
            except TypeError:
                pass
            else:
                if body.isascii() and b"\x7f" not in body:
                    return self._app.response_class(body + b"\n", mimetype=self.mimetype)  # type: ignore[arg-type]
        return super().response(*args, **kwargs)
