"""Outside services that can fail (database, Redis): a log line when one stops answering, one when it is back.

While a service is down every request that needs it fails the same way; a line (let alone a
traceback) per failure would bury the two lines an operator needs under thousands.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("parley.outages")


class Dependency:
    """Whether an outside service answers, as this process last saw it."""

    def __init__(self, name: str, *, settle: float = 0.0) -> None:
        self.name = name
        # A success this soon after a failure does not end the outage: while a pool is exhausted,
        # some callers still get a connection between the ones that time out.
        self.settle = settle
        self.on_recovery: list[Callable[[], None]] = []
        self._problem: str | None = None
        self._failures = 0
        self._last_failure = 0.0
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        return self._problem is not None

    def failed(self, problem: str, error: BaseException) -> None:
        """A call failed because of `problem` ("unreachable", "pool exhausted"): log it if that is news."""
        with self._lock:
            self._failures += 1
            self._last_failure = time.monotonic()
            if self._problem == problem:
                return
            self._problem = problem
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        log.warning("%s: %s (%s); degraded until it answers again", self.name, problem, reason)

    def answered(self) -> None:
        """A call succeeded: ends an outage (logged, recovery hooks run) once it has settled."""
        if self._problem is None:  # the common case, without taking the lock
            return
        with self._lock:
            if self._problem is None or time.monotonic() - self._last_failure < self.settle:
                return
            problem, failures = self._problem, self._failures
            self._problem, self._failures = None, 0
        log.info("%s: answers again (was %s; %d calls failed meanwhile)", self.name, problem, failures)
        for hook in self.on_recovery:
            hook()
