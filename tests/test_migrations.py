"""Migrations: they match the models, go down to nothing, and keep data on the way up."""

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, MetaData, String, Text, func, inspect, select
from sqlalchemy.schema import ForeignKey, sort_tables

from app import create_app
from app.extensions import db
from app.modules.auth.models import OAuth2Client
from app.modules.search.index import include_name, is_index_table
from app.provisioning import MIGRATIONS_DIR

pytestmark = pytest.mark.engine_independent

ROOT = Path(__file__).resolve().parent.parent
SEED_TIME = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """An empty database on each engine the project supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.db'}"
    return request.getfixturevalue("postgres_database")


@pytest.fixture
def migrating_app(empty_database):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=empty_database)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def revisions_in_order() -> list[str]:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    return [
        script.revision for script in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))
    ]


def test_migrations_at_head_match_the_models(migrating_app):
    flask_migrate.upgrade(directory=MIGRATIONS_DIR)
    with db.engine.connect() as connection:
        opts = {"compare_type": True, "include_name": include_name}  # as migrations/env.py
        context = MigrationContext.configure(connection, opts=opts)
        assert compare_metadata(context, db.metadata) == []


def _predicate(where: object) -> str | None:
    """An index's WHERE as text that compares equal across reflection: no parentheses, spaces, case or
    the casts PostgreSQL adds (`status::text = 'pending'::text`)."""
    return None if where is None else re.sub(r"::[a-z_]+|[()\s]", "", str(where).lower())


def test_migrations_at_head_give_each_index_the_models_where(migrating_app):
    """Alembic compares an index's columns, not its WHERE: a partial index is partial in both or neither."""
    flask_migrate.upgrade(directory=MIGRATIONS_DIR)
    dialect, inspector = db.engine.dialect.name, inspect(db.engine)
    partial = 0
    for table in db.metadata.tables.values():
        reflected = {
            index["name"]: index.get("dialect_options", {}).get(f"{dialect}_where")
            for index in inspector.get_indexes(table.name)
        }
        for index in table.indexes:
            wanted = _predicate(index.dialect_options[dialect]["where"])
            assert _predicate(reflected[index.name]) == wanted, index.name
            partial += wanted is not None
    assert partial >= 3  # events' room and user, messages' parent (0015)


def test_migrations_downgrade_to_an_empty_database(migrating_app):
    flask_migrate.upgrade(directory=MIGRATIONS_DIR)
    assert set(db.metadata.tables) <= set(inspect(db.engine).get_table_names())
    flask_migrate.downgrade(directory=MIGRATIONS_DIR, revision="base")
    assert inspect(db.engine).get_table_names() == ["alembic_version"]


def _sample(column, seeded: dict) -> object:
    """A value for a column of a reflected table: foreign keys point at row 1 of a seeded table."""
    if column.foreign_keys:
        target = next(iter(column.foreign_keys)).column.table
        return 1 if target.name in seeded else None
    kind = column.type
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, Float):
        return 1.5
    if isinstance(kind, DateTime):
        return SEED_TIME
    if isinstance(kind, JSON):
        return {"seed": [1, 2]}
    if isinstance(kind, String | Text):
        length = getattr(kind, "length", None) or 16
        return f"s{column.name}"[:length]
    raise AssertionError(f"no sample value for {column.table.name}.{column.name} ({kind!r})")


def _reflect(bind) -> MetaData:
    """Every table but the full-text index's (an FTS5 table and its shadows: not plain tables)."""
    tables = MetaData()
    tables.reflect(bind, only=lambda name, _: not is_index_table(name))
    return tables


def _is_nullable(fk: ForeignKey) -> bool:
    return bool(fk.parent.nullable)


def _seed_every_table(connection) -> dict[str, dict]:
    tables = _reflect(connection)
    seeded: dict[str, dict] = {}
    # Nullable foreign keys may form cycles (rooms.last_message_id): they do not order the tables.
    # sort_tables passes skip_fn each ForeignKey of a constraint (typed as if it passed the constraint).
    for table in sort_tables(tables.tables.values(), skip_fn=_is_nullable):  # type: ignore[arg-type]
        if table.name == "alembic_version":
            continue
        # Generated columns (PostgreSQL's search_vector) take no value.
        row = {column.name: _sample(column, seeded) for column in table.columns if column.computed is None}
        connection.execute(table.insert().values(**row))
        seeded[table.name] = row
    return seeded


@pytest.mark.parametrize("revision", revisions_in_order()[:-1])
def test_upgrading_from_each_revision_keeps_its_data(migrating_app, revision):
    flask_migrate.upgrade(directory=MIGRATIONS_DIR, revision=revision)
    with db.engine.begin() as connection:
        seeded = _seed_every_table(connection)
    assert seeded, f"revision {revision} has no tables to seed"
    flask_migrate.upgrade(directory=MIGRATIONS_DIR, revision="+1")
    tables = _reflect(db.engine)
    with db.engine.connect() as connection:
        for name, before in seeded.items():
            rows = connection.execute(select(tables.tables[name])).mappings().all()
            assert len(rows) == 1, f"{name} lost its row"
            kept = {column: rows[0][column] for column in before if column in rows[0]}
            normalised = {
                k: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v
                for k, v in kept.items()
            }
            assert normalised == {k: before[k] for k in kept}, f"{name} changed on upgrade"


def test_upgrading_to_event_spans_lets_existing_members_keep_their_rooms_events(migrating_app):
    flask_migrate.upgrade(directory=MIGRATIONS_DIR, revision="0005")
    with db.engine.begin() as connection:
        seeded = _seed_every_table(connection)
    flask_migrate.upgrade(directory=MIGRATIONS_DIR, revision="0006")
    tables = _reflect(db.engine)
    with db.engine.connect() as connection:
        spans = connection.execute(select(tables.tables["membership_spans"])).mappings().all()
        audiences = connection.execute(select(tables.tables["events"].c.audience)).scalars().all()
    membership = seeded["memberships"]
    assert [(s["user_id"], s["room_id"], s["first_event_id"], s["last_event_id"]) for s in spans] == [
        (membership["user_id"], membership["room_id"], 0, None)
    ]
    assert audiences == ["members"]


def test_upgrading_to_0009_takes_the_password_grant_from_registered_clients_only(migrating_app):
    flask_migrate.upgrade(directory=MIGRATIONS_DIR, revision="0006")
    with db.engine.begin() as connection:
        seeded = _seed_every_table(connection)
        clients = _reflect(connection).tables["oauth2_clients"]
        connection.execute(clients.update().values(grant_types=["password", "client_credentials"]))
        builtin = {**seeded["oauth2_clients"], "id": 2, "client_id": "documentation", "owner_id": None}
        connection.execute(clients.insert().values({**builtin, "grant_types": ["password", "refresh_token"]}))
    flask_migrate.upgrade(directory=MIGRATIONS_DIR, revision="0009")
    tables = _reflect(db.engine)
    with db.engine.connect() as connection:
        grants = connection.execute(
            select(tables.tables["oauth2_clients"].c.grant_types).order_by(
                tables.tables["oauth2_clients"].c.id
            )
        ).scalars()
        counted_from = connection.execute(select(tables.tables["users"].c.reports_count_from)).scalar_one()
    assert list(grants) == [["client_credentials"], ["password", "refresh_token"]]
    assert counted_from.replace(tzinfo=UTC) == SEED_TIME - timedelta(hours=4)  # the seeded ban's start


def test_instances_starting_together_provision_a_fresh_database_once(postgres_database):
    env = {
        **os.environ,
        "PARLEY_CONFIG": "production",
        "SECRET_KEY": "k" * 32,
        "DATABASE_URL": postgres_database,
        "PARLEY_PUBLIC_URL": "http://127.0.0.1",
    }
    starts = [
        subprocess.Popen(
            [sys.executable, "-m", "app.provisioning"], cwd=ROOT, env=env, stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    assert [start.wait(timeout=120) for start in starts] == [0, 0, 0], [
        s.stderr.read() for s in starts if s.stderr
    ]
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=postgres_database)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OAuth2Client)) == 2
        db.engine.dispose()
