"""What bench/http.py reports: refused answers by the status the server gave them; ratios to the
ceilings measured before and after Parley's scenarios."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime

import pytest

from bench.http import Report, Result, Settings, _errors, _ratio, _ratio_cell, name_statuses, refused_in


def result(requests: int = 1000, *, writes: bool = False, **errors: int) -> Result:
    measured = Result("scenario", requests, 6.0, 1.0, 2.0, {"connect": 0, "read": 0, "timeout": 0} | errors)
    measured.writes = writes
    return measured


@pytest.fixture
def access_line(client, caplog: pytest.LogCaptureFixture):
    """The server's access line for a request, as its log handler writes it."""

    def line(path: str) -> str:
        with caplog.at_level(logging.INFO, logger="parley.access"):
            client.get(path)
        record = next(r for r in caplog.records if r.name == "parley.access")
        caplog.clear()
        request_id = record.__dict__["request_id"]  # set by the app's filter: not a LogRecord attribute
        return f"2026-11-29 18:00:00,000 INFO [{request_id}] parley.access: {record.getMessage()}\n"

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


def test_each_ratio_is_to_the_mean_of_its_ceiling_measured_before_and_after() -> None:
    report = Report(Settings(), "wrk", "SQLite", 5, datetime.now(UTC), (0.0, 0.0, 0.0))
    report.bare, report.write_ceiling = result(18_000), result(6_000, writes=True)  # 3,000 and 1,000 req/s
    read, write = result(9_000), result(1_800, writes=True)  # 1,500 and 300 req/s
    report.scenarios = [read, write]
    assert (_ratio(report, read), _ratio(report, write)) == (0.5, 0.3)  # only measured before: as it was
    # The machine slowed down meanwhile: the ceilings measured again read 2,000 and 500 req/s.
    report.bare_again, report.write_again = result(12_000), result(3_000, writes=True)
    assert _ratio(report, read) == pytest.approx(1500 / 2500)
    assert _ratio(report, write) == pytest.approx(300 / 750)
    assert _ratio_cell(report, report.write_again) == "1.00 (write ceiling)"
    assert _ratio_cell(report, write) == "0.40 of write"
