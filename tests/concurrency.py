"""Identical requests sent at the same moment, each from its own thread and connection.

They go to the app on a real socket (`live_server`): the Flask test client runs one at a time.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx
from flask import Flask

from tests.conftest import User
from tests.outbox import events_since

TIMES = 5  # how many identical requests a race sends


def at_once(
    base_url: str, calls: Sequence[tuple[User, str, str, dict[str, Any] | None]]
) -> list[httpx.Response]:
    """Send `(user, method, path, body)` calls together, released by one barrier."""
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def fire(slot: int) -> None:
        user, method, path, body = calls[slot]
        with httpx.Client(base_url=base_url, timeout=30) as http:
            http.get("/healthz")  # connected before the barrier: the requests start together
            barrier.wait(timeout=10)
            try:
                answers[slot] = http.request(method, path, headers=user.headers, json=body)
            except httpx.HTTPError as error:  # reported by the assertion below
                answers[slot] = error

    threads = [threading.Thread(target=fire, args=(slot,)) for slot in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(answer, httpx.Response) for answer in answers), answers
    return answers


def repeated(base_url: str, user: User, method: str, path: str, body: dict[str, Any] | None = None):
    return at_once(base_url, [(user, method, path, body)] * TIMES)


def statuses(answers: list[httpx.Response]) -> Counter[int]:
    return Counter(answer.status_code for answer in answers)


def event_types(app: Flask, mark: int) -> Counter[str]:
    return Counter(type_ for type_, *_ in events_since(app, mark))
