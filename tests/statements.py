"""Counting the SQL statements a piece of work runs: what makes a query count a test can assert."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event

from app.extensions import db


@contextmanager
def counted_statements(app: Flask) -> Iterator[list[str]]:
    """Every statement this thread sends to the database inside the block, in order.

    Only this thread's: the event hub's reader, the scheduler and presence run queries of
    their own whenever they like.
    """
    statements: list[str] = []
    thread = threading.get_ident()

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        if threading.get_ident() == thread:
            statements.append(statement)

    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", count)
