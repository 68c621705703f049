"""Fixtures: one migrated database per session, emptied and re-seeded after every test.

Users and tokens are made through the HTTP API, as a client would.
"""

from __future__ import annotations

import base64
import contextlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Table, create_engine, select, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from app.modules.auth.models import OAuth2Token
from app.modules.events import throttle
from app.modules.users.models import User as UserRow
from app.provisioning import prepare_database
from tests.processes import Processes

pytest_plugins = ("tests.claims",)  # TEST_CLAIMS: a pass shared out between processes (.ci/run)

PASSWORD = "correct horse battery"


IN_CI = os.environ.get("CI") == "true"
# The second CI pass runs the application on PostgreSQL + Redis; tests marked engine_independent
# ran in the first on the very same services, and are skipped in it, unless also marked second_pass
# (the first pass deselects those); so are tests marked first_pass.
SECOND_PASS = bool(os.environ.get("TEST_DATABASE_URL"))


def require_service(env: str, what: str) -> str:
    """The URL in `env`: skipped locally when unset, a failure in CI (which must provide it)."""
    url = os.environ.get(env)
    if not url:
        message = f"{env} is not set: {what} is needed (.ci/run starts it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return url


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In the PostgreSQL pass, skip what the first pass already ran on the very same services."""
    if SECOND_PASS:
        skip = pytest.mark.skip(reason="runs once, in the SQLite pass (engine_independent or first_pass)")
        for item in items:
            once = "engine_independent" in item.keywords or "first_pass" in item.keywords
            if once and "second_pass" not in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """A PostgreSQL server URL whose user may create databases (TEST_POSTGRES_URL)."""
    return require_service("TEST_POSTGRES_URL", "PostgreSQL")


@contextlib.contextmanager
def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of `admin_url`, dropped afterwards."""
    name = f"parley_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_database(postgres_admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test."""
    with fresh_postgres_database(postgres_admin_url) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis server URL (TEST_REDIS_URL)."""
    return require_service("TEST_REDIS_URL", "Redis")


Rows = dict[Table, list[dict[str, Any]]]


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'parley.db'}"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    prepare_database(app)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def _seeded(app: Flask) -> Rows:
    """The rows `modules.seed()` made (built-in clients, `general`), read once, as every test starts."""
    with app.app_context():
        connection = db.session.connection()
        seeded = {
            table: [dict(row) for row in connection.execute(table.select()).mappings()]
            for table in db.metadata.sorted_tables
        }
        db.session.remove()
    return {table: rows for table, rows in seeded.items() if rows}


@pytest.fixture(autouse=True)
def _clean_database(app: Flask, _seeded: Rows) -> Iterator[None]:
    """After each test, the database as it was seeded: the seed's rows written back, a statement a
    table, their timestamps made now as a fresh seed's would be (tests check that a room's creation
    is recent). Seeding anew ran the seed's ORM queries after every test: 7.2 ms of CPU on SQLite,
    9.3 on PostgreSQL, where this takes 1.9 and 3.2."""
    yield
    with app.app_context():
        db.session.remove()
        _empty_tables()
        connection = db.session.connection()
        now = datetime.now(UTC)
        for table, rows in _seeded.items():
            rows = [
                {key: now if isinstance(value, datetime) else value for key, value in row.items()}
                for row in rows
            ]
            connection.execute(table.insert(), rows)
        db.session.commit()
    _forget_presence(app)


def _empty_tables() -> None:
    """A DELETE per table, on PostgreSQL in one round trip: paid after every test, it was 30 ms of
    waiting on the server as one round trip per table, 8 ms as one (SQLite's driver takes one
    statement per call, and has no round trip to save)."""
    connection = db.session.connection()
    quote = connection.dialect.identifier_preparer.format_table
    statements = [f"DELETE FROM {quote(table)}" for table in reversed(db.metadata.sorted_tables)]
    if connection.dialect.name == "sqlite":
        for statement in statements:
            connection.exec_driver_sql(statement)
    else:
        connection.exec_driver_sql("; ".join(statements))


def _forget_presence(app: Flask) -> None:
    """Presence and typing throttles outlive a test (in the process, and in Redis); its user ids do not."""
    state = app.extensions["parley.presence"]
    with state.lock:
        for known in (state.leaving, state.changes, state.heard, state.seen, state.unsettled):
            known.clear()
    throttle._last.clear()
    redis = app.extensions["parley.redis"]
    if redis is not None:
        keys = list(redis.scan_iter(f"{app.config['EVENTS_CHANNEL']}:*"))
        if keys:
            redis.delete(*keys)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def basic(client_id: str, secret: str = "") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class User:
    """A signed-up user and a password-grant token with every scope."""

    client: FlaskClient
    id: int
    username: str
    password: str
    token: str
    refresh_token: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)

    def token_with(self, scope: str) -> str:
        return password_token(self.client, self.username, self.password, scope=scope)["access_token"]


def password_token(client: FlaskClient, username: str, password: str, **extra: str) -> dict[str, Any]:
    response = client.post(
        "/auth/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": "documentation",
            "username": username,
            "password": password,
            **extra,
        },
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def age_tokens(app: Flask, seconds: int) -> None:
    """Make every stored token `seconds` older, as if issued that long ago."""
    with app.app_context():
        for token in db.session.scalars(select(OAuth2Token)):
            token.issued_at -= seconds
            if token.refresh_token_expires_at is not None:
                token.refresh_token_expires_at -= seconds
        db.session.commit()


@pytest.fixture
def make_user(client: FlaskClient) -> Callable[..., User]:
    """Sign a user up through the API and log them in with the password grant."""

    def make(username: str, password: str = PASSWORD, **profile: Any) -> User:
        response = client.post("/api/v1/users", json={"username": username, "password": password, **profile})
        assert response.status_code == 201, response.get_json()
        tokens = password_token(client, username, password)
        return User(
            client,
            response.get_json()["id"],
            username,
            password,
            tokens["access_token"],
            tokens["refresh_token"],
            response.get_json(),
        )

    return make


@pytest.fixture
def alice(make_user: Callable[..., User]) -> User:
    return make_user("alice", display_name="Alice")


@pytest.fixture
def bob(make_user: Callable[..., User]) -> User:
    return make_user("bob", display_name="Bob")


@pytest.fixture
def carol(make_user: Callable[..., User]) -> User:
    return make_user("carol", display_name="Carol")


@pytest.fixture
def admin(app: Flask, make_user: Callable[..., User]) -> User:
    """No endpoint makes admins: the one place a row is changed by hand."""
    user = make_user("root")
    with app.app_context():
        row = db.session.get(UserRow, user.id)
        assert row is not None
        row.is_admin = True
        db.session.commit()
    return user


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app on a real socket, for third-party HTTP clients and the browser."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def processes(tmp_path: Any) -> Iterator[Processes]:
    """Start programs with `processes.start(...)`; all are stopped (then killed) after the test."""
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


@contextlib.contextmanager
def new_server_database(request: pytest.FixtureRequest, directory: Any) -> Iterator[str]:
    """A fresh database for server processes: PostgreSQL in the PostgreSQL pass, else a SQLite file."""
    if SECOND_PASS:
        with fresh_postgres_database(request.getfixturevalue("postgres_admin_url")) as url:
            yield url
    else:
        yield f"sqlite:///{directory / 'parley.db'}"


@pytest.fixture
def server_database(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    with new_server_database(request, tmp_path) as url:
        yield url
