"""JSON answers are encoded by orjson where it writes what Flask's own encoder writes, and by
Flask's encoder everywhere else: the bytes a client reads never depend on which one did."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup

from app.extensions.schemas import Dumped


@dataclasses.dataclass
class Point:
    x: int
    y: int


VALUES: dict[str, Any] = {
    "every ASCII character": {"body": "".join(map(chr, range(128)))},
    "past ASCII": {"body": "café 🎉 \u2028 \ud800"},
    "key order as given": {"z": 1, "a": [True, False, None], "m": {"b": 2, "a": 1}},
    "integers at and past 64 bits": [2**63 - 1, -(2**63), 2**64, -(2**70)],
    "keys that are not strings": {1: "one", None: "none"},
    "datetimes": {"at": datetime(2026, 11, 22, 10, tzinfo=UTC), "on": date(2026, 11, 22)},
    "uuid, decimal, dataclass": [uuid.UUID(int=7), Decimal("1.50"), Point(1, 2)],
    "subclasses": [Dumped([{"id": 1}]), Markup("<b>"), True],
    "floats": [0.1, 1.0, 1e16, -2.5],
}


@pytest.mark.parametrize("kind", VALUES)
def test_an_answer_is_byte_for_byte_what_flasks_encoder_writes(app, kind):
    flasks = DefaultJSONProvider(app)
    flasks.sort_keys = False
    with app.app_context():
        # Flask types `response` as werkzeug's sansio Response: it is the app's Response class, with get_data.
        assert app.json.response(VALUES[kind]).get_data() == flasks.response(VALUES[kind]).get_data()  # type: ignore[attr-defined]
