"""The one scheduler of time-driven work: modules register jobs, every process may run them.

Each job has a row in `scheduler_jobs` holding when it is next due and who holds its lease.
A process runs a due job only after claiming that row with one conditional UPDATE (due and not
leased, or its lease expired): on SQLite and PostgreSQL alike exactly one claimant's UPDATE
matches, so any number of processes on any number of machines run each job once per interval.
Inside the server one thread (a greenlet under gevent) per process ticks every
SCHEDULER_TICK_SECONDS; `invoke app.jobs` runs every job once, for cron.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import String, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Mapped, mapped_column

from . import database, database_errors, metrics
from .columns import UTCDateTime
from .database import Base, db, rows_changed

log = logging.getLogger(__name__)

Job = Callable[[], int]


class SchedulerJob(Base):
    """When a job is next due, and which process holds it until when."""

    __tablename__ = "scheduler_jobs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leased_by: Mapped[str | None] = mapped_column(String(100))
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_handled: Mapped[int | None]


@dataclass(frozen=True)
class Registered:
    job: Job
    interval: timedelta


def init_app(app: Flask) -> None:
    app.extensions["parley.jobs"] = {}


def register(app: Flask, name: str, job: Job, interval_seconds: float | None = None) -> None:
    """Add a job: a function of no arguments returning how many rows it handled.

    It runs every `interval_seconds` (else JOBS_INTERVAL_SECONDS); JOB_INTERVALS, from the
    environment, overrides any job's interval by name.
    """
    seconds = app.config["JOB_INTERVALS"].get(name, interval_seconds or app.config["JOBS_INTERVAL_SECONDS"])
    app.extensions["parley.jobs"][name] = Registered(job, timedelta(seconds=seconds))


def _runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _claim(name: str, now: datetime, *, due_only: bool) -> bool:
    """Take the job's lease if nobody holds a live one (and, with `due_only`, if it is due)."""
    lease = timedelta(seconds=current_app.config["SCHEDULER_LEASE_SECONDS"])
    conditions = [
        SchedulerJob.name == name,
        or_(SchedulerJob.leased_until.is_(None), SchedulerJob.leased_until < now),
    ]
    if due_only:
        conditions.append(SchedulerJob.next_run_at <= now)
    claimed = rows_changed(
        update(SchedulerJob).where(*conditions).values(leased_until=now + lease, leased_by=_runner_id())
    )
    db.session.commit()
    return claimed == 1


def _release(name: str, now: datetime, interval: timedelta, handled: int | None) -> None:
    values: dict[str, Any] = {"leased_until": None, "leased_by": None, "next_run_at": now + interval}
    if handled is not None:
        values |= {"last_run_at": now, "last_handled": handled}
    db.session.execute(
        update(SchedulerJob)
        .where(SchedulerJob.name == name, SchedulerJob.leased_by == _runner_id())
        .values(values)
    )
    db.session.commit()


def _ensure_rows(registered: dict[str, Registered], now: datetime) -> dict[str, datetime]:
    """Each registered job's next due time; a new job is due at once."""
    rows = db.session.execute(select(SchedulerJob.name, SchedulerJob.next_run_at))
    known = {name: due for name, due in rows}
    for name in registered.keys() - known.keys():
        try:
            db.session.execute(insert(SchedulerJob).values(name=name, next_run_at=now))
            db.session.commit()
        except IntegrityError:  # another process added it first
            db.session.rollback()
        known[name] = now
    return known


def _run(name: str, entry: Registered, now: datetime) -> int | None:
    """Run one claimed job, log what it did, and hand the lease back with its next due time."""
    started = time.monotonic()
    handled = None
    try:
        handled = entry.job()
        log.info("job %s handled %d in %.3f s", name, handled, time.monotonic() - started)
    except Exception:
        db.session.rollback()
        log.exception("job %s failed after %.3f s", name, time.monotonic() - started)
    metrics.job_ran(name, failed=handled is None)
    _release(name, now, entry.interval, handled)
    return handled


def run_due(now: datetime | None = None) -> dict[str, int | None]:
    """Run the jobs that are due and that this process can claim; what each handled (None: failed).

    One SELECT per tick when nothing is due.
    """
    now = now or database.utcnow()
    registered = current_app.extensions["parley.jobs"]
    due = _ensure_rows(registered, now)
    results = {}
    for name, entry in registered.items():
        if due[name] <= now and _claim(name, now, due_only=True):
            results[name] = _run(name, entry, now)
    return results


def run_all() -> dict[str, int | None]:
    """Run every registered job once now, in registration order (cron); a job another process
    is running right now is skipped."""
    now = database.utcnow()
    registered = current_app.extensions["parley.jobs"]
    _ensure_rows(registered, now)
    return {
        name: _run(name, entry, now)
        for name, entry in registered.items()
        if _claim(name, now, due_only=False)
    }


def start(app: Flask) -> threading.Thread | None:
    """Run the scheduler in this process, in the background, if SCHEDULER_ENABLED.

    Called by the server entry points (server.py, gunicorn's workers), never by create_app:
    migrations, `invoke` tasks and tests build applications that must not start one.
    """
    if not app.config["SCHEDULER_ENABLED"]:
        return None
    thread = threading.Thread(target=_tick_forever, args=(app,), name="parley-scheduler", daemon=True)
    thread.start()
    return thread


def _tick_forever(app: Flask) -> None:
    unmigrated = False
    while True:
        with app.app_context():
            try:
                run_due()
                unmigrated = False
            except (OperationalError, PoolTimeoutError) as error:
                # The database is down (or, on SQLite, not migrated yet): one line per outage.
                database_errors.unavailable(app, error)
            except ProgrammingError as error:
                # PostgreSQL not migrated yet (another process is at it): wait, and say so once.
                if not unmigrated:
                    log.warning("scheduler waits for the database's tables: %s", str(error).splitlines()[0])
                unmigrated = True
            except Exception:
                log.exception("scheduler tick failed")
            finally:
                db.session.remove()
        time.sleep(app.config["SCHEDULER_TICK_SECONDS"])
