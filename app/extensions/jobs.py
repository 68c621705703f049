"""Periodic housekeeping: modules register jobs; `invoke app.jobs` (cron) runs them all once."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, current_app

log = logging.getLogger(__name__)

Job = Callable[[], int]


def init_app(app: Flask) -> None:
    app.extensions["parley.jobs"] = {}


def register(app: Flask, name: str, job: Job) -> None:
    """Add a job: a function of no arguments returning how many rows it handled."""
    app.extensions["parley.jobs"][name] = job


def run_all() -> dict[str, int]:
    """Run every registered job once, in registration order."""
    results = {}
    for name, job in current_app.extensions["parley.jobs"].items():
        results[name] = job()
        log.info("job %s handled %d", name, results[name])
    return results
