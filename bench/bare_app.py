"""The baselines: a bare Flask app with one small JSON read and one single-row write, no extensions.

Served by the same gunicorn settings as Parley (`gunicorn -c gunicorn.conf.py bench.bare_app:app`),
so that Parley's numbers divided by these show what Parley adds, whatever the machine.
`GET /` is the read ceiling; `POST /write` (one INSERT and its commit, on the benchmark's own
database, with the pool size and the SQLite pragmas Parley's engine gets) is the write ceiling:
no endpoint that commits can beat what the database allows one commit per request.
"""

from __future__ import annotations

import contextlib
import os

from flask import Flask
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import CreateTable

from app.extensions import database  # noqa: F401  (its connect listener sets Parley's SQLite pragmas)
from config import BaseConfig

app = Flask(__name__)
_writes = Table(
    "bench_writes",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("body", String(200), nullable=False),
)
_engine = create_engine(
    os.environ["DATABASE_URL"],
    pool_size=BaseConfig.DB_POOL_SIZE,
    max_overflow=BaseConfig.DB_MAX_OVERFLOW,
    pool_timeout=BaseConfig.DB_POOL_TIMEOUT,
)
# Every worker imports this module: on PostgreSQL, concurrent IF NOT EXISTS can still collide once.
with contextlib.suppress(IntegrityError), _engine.begin() as _connection:
    _connection.execute(CreateTable(_writes, if_not_exists=True))
_insert = _writes.insert().values(body="bench")


@app.get("/")
def status() -> dict[str, str]:
    """The same body as Parley's /healthz: the difference is Parley's own per-request work."""
    return {"status": "ok"}


@app.post("/write")
def write() -> tuple[dict[str, str], int]:
    """One INSERT and its commit: what sending a message can at best approach."""
    with _engine.begin() as connection:
        connection.execute(_insert)
    return {"status": "ok"}, 201
