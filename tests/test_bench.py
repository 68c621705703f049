"""What bench/http.py reports: refused answers by the status the server gave them."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from bench.http import Result, _errors, name_statuses, refused_in


def result(**errors: int) -> Result:
    return Result("scenario", 1000, 6.0, 1.0, 2.0, {"connect": 0, "read": 0, "timeout": 0} | errors)


@pytest.fixture
def access_line(client, caplog: pytest.LogCaptureFixture):
    """The server's access line for a request, as its log handler writes it."""

    def line(path: str) -> str:
        with caplog.at_level(logging.INFO, logger="parley.access"):
            client.get(path)
        record = next(r for r in caplog.records if r.name == "parley.access")
        caplog.clear()
        return f"2026-11-29 18:00:00,000 INFO [{record.request_id}] parley.access: {record.getMessage()}\n"

    return line


def test_refused_answers_are_named_by_the_statuses_the_server_logged(tmp_path, access_line) -> None:
    log = tmp_path / "server.log"
    log.write_text(access_line("/api/v1/nowhere"))  # before the run: not counted
    offset = log.stat().st_size
    with log.open("a") as more:
        more.write(access_line("/readyz") + access_line("/api/v1/nowhere") + access_line("/api/v1/users/me"))
    measured = result(status=2, timeout=1)
    name_statuses(measured, refused_in(log, offset))
    assert _errors(measured) == "3 (timeout: 1, HTTP 401: 1, HTTP 404: 1)"


def test_without_access_lines_refused_answers_are_still_said_to_be_statuses_of_400_and_above() -> None:
    measured = result(status=17)
    name_statuses(measured, Counter())  # LOG_LEVEL above INFO: no access lines
    assert _errors(measured) == "17 (HTTP >= 400: 17)"
