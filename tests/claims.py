"""One pass of the suite run by several pytest processes that share out its files as they go.

Each process collects the whole suite, then takes test files one at a time: a file is claimed by
creating a file of its name in a directory the processes share (`TEST_CLAIMS`), which only one
process can do. So whichever process is free takes the next file, and processes whose tests wait
a lot (servers starting, timers) do not hold back the others. A file runs whole, in its order, in
one process: its module fixtures (a Docker image, generated clients) are built once.

Long files go first, so that the last files handed out are short ones and the processes end close
together. The order only balances the processes: a long file missing from `LONG_FILES` costs time,
never a result.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The files whose tests take longest (seconds, from CI's --durations), longest first.
LONG_FILES = (
    "tests/test_swagger_ui.py",  # 150
    "tests/test_fuzzing.py",  # 65-110
    "tests/test_events_processes.py",  # 70
    "tests/test_dockerfile.py",  # 40-60
    "tests/test_web_client.py",
    "tests/test_terminal_client.py",
    "tests/test_codebase.py",  # mypy: 30
    "tests/test_generated_clients.py",
    "tests/test_redis_outage.py",
    "tests/test_database_pool.py",
    "tests/test_rate_limits.py",
    "tests/test_scheduled_messages.py",
)


def _file_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def _files(items: list[pytest.Item]) -> list[list[pytest.Item]]:
    """The items grouped by file: the long files first, then the others, more tests first."""
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(_file_of(item), []).append(item)

    def rank(tests: list[pytest.Item]) -> tuple[int, int]:
        name = _file_of(tests[0])
        return (LONG_FILES.index(name), 0) if name in LONG_FILES else (len(LONG_FILES), -len(tests))

    return sorted(files.values(), key=rank)


def _claimed(directory: Path, tests: list[pytest.Item]) -> bool:
    """Whether this process got the file of `tests` (no other process created its claim first)."""
    try:
        os.close(os.open(directory / _file_of(tests[0]).replace("/", "__"), os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return False
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """With TEST_CLAIMS (a directory), run only the test files this process claims there first."""
    claims = os.environ.get("TEST_CLAIMS")
    if not claims or session.config.option.collectonly or session.testsfailed:
        return None  # pytest's own loop: everything, or the collection errors
    run_claimed(session, Path(claims))
    return True


def run_claimed(session: pytest.Session, directory: Path) -> None:
    """pytest's run loop over the files this process claims, one at a time.

    pytest tears a test's fixtures down knowing the next item. After a file's last test, that is
    an item of another file, whichever: its module fixtures go, the session's stay. The next file
    is claimed only then, so a process busy with one long test holds no other file back; when
    none is left, pytest tears the session's fixtures down as the session finishes.
    """
    files = iter(_files(session.items))

    def claim() -> list[pytest.Item] | None:
        return next((tests for tests in files if _claimed(directory, tests)), None)

    tests = claim()
    while tests is not None:
        elsewhere = next((other for other in session.items if _file_of(other) != _file_of(tests[0])), None)
        for item, nextitem in zip(tests, [*tests[1:], elsewhere], strict=True):
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            if session.shouldfail:
                raise session.Failed(session.shouldfail)
            if session.shouldstop:
                raise session.Interrupted(session.shouldstop)
        tests = claim()
