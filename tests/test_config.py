"""Configuration safety and start-up provisioning."""

import math
import runpy

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.modules.auth.models import OAuth2Client
from app.modules.rooms.models import Room
from app.provisioning import prepare_database
from config import DEFAULT_DATABASE_URL, DEV_SECRET_KEY
from tests.processes import ROOT


@pytest.mark.parametrize("secret", [None, "", DEV_SECRET_KEY])
def test_production_refuses_to_start_without_a_real_secret_key(secret):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production", SECRET_KEY=secret, SQLALCHEMY_DATABASE_URI="sqlite:////tmp/prod.db")


def test_production_refuses_the_default_database_path():
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        create_app("production", SECRET_KEY="s" * 32, SQLALCHEMY_DATABASE_URI=DEFAULT_DATABASE_URL)


def test_production_starts_with_a_secret_key_a_database_and_a_public_url():
    app = create_app(
        "production",
        SECRET_KEY="s" * 32,
        SQLALCHEMY_DATABASE_URI="sqlite:////tmp/prod.db",
        PUBLIC_URL="https://chat.example.com",
    )
    assert app.config["SECRET_KEY"] == "s" * 32


@pytest.mark.parametrize("setting", ["TOKEN_RATE_LIMIT", "SIGNUP_RATE_LIMIT", "ACCOUNT_PASSWORD_RATE_LIMIT"])
def test_a_rate_limit_that_does_not_parse_stops_the_start(setting):
    with pytest.raises(RuntimeError, match=setting):
        create_app("testing", **{setting: "ten a day"})


def test_development_works_with_no_settings_at_all():
    assert create_app("development").config["SECRET_KEY"]


def test_provisioning_a_fresh_database_twice_seeds_once(tmp_path):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'nested' / 'fresh.db'}")
    prepare_database(app)
    prepare_database(app)
    with app.app_context():
        client_ids = db.session.scalars(select(OAuth2Client.client_id).order_by(OAuth2Client.client_id))
        assert list(client_ids) == ["documentation", "web"]
        assert db.session.scalar(select(func.count()).select_from(Room).where(Room.name == "general")) == 1
        general = db.session.scalar(select(Room).where(Room.name == "general"))
        assert general is not None
        assert (general.kind, general.message_ttl_seconds) == ("public", 3600)


@pytest.mark.parametrize(
    ("database_url", "per_cpu"),
    [(None, 1), ("sqlite:////srv/parley.db", 1), ("postgresql+psycopg://parley@db/parley", 2)],
)
def test_gunicorn_runs_a_worker_per_cpu_on_sqlite_and_more_on_postgresql(monkeypatch, database_url, per_cpu):
    """gunicorn.conf.py's defaults: one worker per CPU on SQLite, 2 x CPUs + 1 on PostgreSQL; an
    instance holds 10,000 connections, at least 2,000 a worker; WEB_CONCURRENCY still wins."""
    for name in ("DATABASE_URL", "WEB_CONCURRENCY", "PARLEY_WORKER_CONNECTIONS"):
        monkeypatch.delenv(name, raising=False)
    if database_url:
        monkeypatch.setenv("DATABASE_URL", database_url)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    cpus = conf["available_cpus"]()
    assert conf["workers"] == (cpus if per_cpu == 1 else 2 * cpus + 1)
    assert conf["worker_connections"] == max(2000, math.ceil(10_000 / conf["workers"]))
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["workers"] == 3
