"""What every request pays around its view, in Python calls: a count that does not move with the
machine's load, where CPU time would. bench/profile_paths.py measures the time (`healthz`,
`users/me`). The app is called as a WSGI server calls it, so that the test client's own work
(building the request, reading the answer) is not counted."""

from __future__ import annotations

import cProfile
import inspect
import json.encoder
import logging
import pstats
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import itsdangerous
import pytest
import werkzeug.exceptions
from flask import Flask
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder

from app.extensions import db

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse

ITSDANGEROUS = str(Path(itsdangerous.__file__).parent)
# Calls per request, the access line logged; before the fixed cost was cut: healthz 966, users/me
# 1,649 on SQLite and 1,964 on PostgreSQL (whose driver makes more calls per statement). Then:
# healthz 668 and users/me 1,281 and 1,596 (this file alone; CI's whole-suite runs count about 95
# more). After the bearer check read its token and user as one plain row: 1,102 and 1,283. With
# the default headers added to the WSGI header list and the access line cheaper: healthz 560,
# users/me 995 and 1,171 in this file; later 480, 915 and 1,091. With the bearer check on a connection
# lent without the ORM session, its header read without Authlib's request wrapper and the request
# id and access line in a WSGI middleware, `/users/me` answering its caller without smorest's
# dump: 435, 703 and 876 in this file, 878 and 1,051 in CI's whole-suite run (each CI process runs
# other files first, and what they left loaded or cached varies). The bounds leave about 9 % over CI's.
CALLS = {"healthz": {"sqlite": 575, "postgresql": 575}, "users/me": {"sqlite": 960, "postgresql": 1150}}


def served(app: Flask, path: str, headers: dict[str, str]) -> tuple[str, dict[str, int]]:
    """The answer's status, and the calls the app made to answer it, by file."""
    environ = EnvironBuilder(path=path, headers=Headers(headers)).get_environ()
    answered: list[str] = []
    # Made before the profiler starts (cast is a call). The app never calls the `write` that
    # start_response returns: recording the status is enough.
    start_response = cast("StartResponse", lambda status, _headers, _exc_info=None: answered.append(status))

    def serve() -> None:
        body = app.wsgi_app(environ, start_response)
        b"".join(body)
        body.close()  # type: ignore[attr-defined]

    profiler = cProfile.Profile()
    profiler.runcall(serve)
    calls: dict[str, int] = {}
    for (file, _, _), (_, count, *_) in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
        calls[file] = calls.get(file, 0) + count
    return answered[0], calls


@pytest.fixture
def serve(app: Flask, alice: Any) -> Callable[[str], tuple[str, dict[str, int]]]:
    """A request that needs nothing, or the cheapest one that reads the database (served once before)."""
    requests = {"healthz": ("/healthz", {}), "users/me": ("/api/v1/users/me", alice.headers)}

    def request(name: str) -> tuple[str, dict[str, int]]:
        served(app, *requests[name])
        return served(app, *requests[name])

    return request


@pytest.mark.parametrize("path", CALLS)
def test_a_request_costs_a_bounded_number_of_calls(app, serve, path):
    status, calls = serve(path)
    assert status == "200 OK"
    with app.app_context():
        engine = db.engine.dialect.name
    assert sum(calls.values()) <= CALLS[path][engine]


@pytest.mark.parametrize("path", CALLS)
def test_no_hook_or_view_is_tested_for_a_coroutine(serve, path):
    """Parley has no async view or hook: Flask's `inspect.iscoroutinefunction` cost five calls
    for each of them, 14 times a request."""
    status, calls = serve(path)
    assert status == "200 OK"
    assert calls.get(inspect.__file__, 0) == 0


@pytest.mark.parametrize("path", CALLS)
def test_a_request_without_a_cookie_builds_no_session_signer(serve, path):
    """No page keeps a Flask session: without a cookie there is none to verify (30 calls a request)."""
    status, calls = serve(path)
    assert status == "200 OK"
    assert sum(count for file, count in calls.items() if file.startswith(ITSDANGEROUS)) == 0


@pytest.mark.parametrize("path", CALLS)
def test_no_header_lookup_misses(serve, path):
    """A header that is not there costs werkzeug a KeyError (an HTTPException built and caught):
    the request id, body size and security headers looked up seven that way."""
    status, calls = serve(path)
    assert status == "200 OK"
    assert calls.get(werkzeug.exceptions.__file__, 0) == 0


@pytest.mark.parametrize("path", CALLS)
def test_an_answer_is_encoded_without_the_stdlib_json_encoder(serve, path):
    """orjson encodes answers (app/extensions/json_answers.py): the stdlib encoder was a tenth of
    a 50-room `/rooms` and 4 % of a history page."""
    status, calls = serve(path)
    assert status == "200 OK"
    assert calls.get(json.encoder.__file__, 0) == 0


def test_the_access_lines_of_one_second_format_its_time_of_day_once(app, monkeypatch):
    """Every request logs an access line: `localtime` and `strftime` on each were a third of
    formatting it (bench/profile_paths.py leaves logging off; production logs at INFO)."""
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_parley", False))
    lines: list[str] = []

    def format_line(record: logging.LogRecord) -> str:
        lines.append(type(handler).format(handler, record))
        return lines[-1]

    monkeypatch.setattr(handler, "format", format_line)
    formatted: list[str] = []
    strftime = time.strftime

    def recorded_strftime(*args: Any) -> str:
        formatted.append(args[0])
        return strftime(*args)

    monkeypatch.setattr(time, "strftime", recorded_strftime)
    environ = EnvironBuilder(path="/healthz").get_environ()
    for _ in range(10):
        b"".join(app.wsgi_app(dict(environ), lambda *_: None))
    assert len([line for line in lines if "parley.access: GET /healthz 200" in line]) == 10
    assert len(formatted) <= 2  # the ten may straddle a second
