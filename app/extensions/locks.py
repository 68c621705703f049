"""Locks within one process, one per key, for work that must not queue inside the database."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager


class KeyedLocks:
    """A lock per key (a room id…), existing only while someone holds or awaits it.

    `threading.Lock`, which gunicorn's gevent worker patches into a greenlet lock: a waiter
    yields to the other requests of its worker, and to other threads under the development
    server. The guard is never held across a wait, so it never blocks for long.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Hashable, tuple[threading.Lock, int]] = {}  # key: (lock, holders and waiters)

    @contextmanager
    def holding(self, key: Hashable, before_waiting: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold `key`'s lock; `before_waiting` is called only if someone else holds it now."""
        with self._guard:
            lock, users = self._locks.get(key) or (threading.Lock(), 0)
            self._locks[key] = (lock, users + 1)
        try:
            if not lock.acquire(blocking=False):
                if before_waiting is not None:
                    before_waiting()
                lock.acquire()
            try:
                yield
            finally:
                lock.release()
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)
