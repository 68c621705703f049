"""Migration 0007: invite codes handed out before it keep working, and stop being stored."""

from __future__ import annotations

from datetime import UTC, datetime

import flask_migrate
import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.provisioning import MIGRATIONS_DIR, prepare_database
from tests.conftest import PASSWORD, bearer, password_token

pytestmark = pytest.mark.engine_independent

OPEN_CODE = "open-link-abcdef"
APPROVAL_CODE = "asks-link-abcdef"
THEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def app_at_0006(request, tmp_path):
    """An app whose database stops at revision 0006, on each engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'before-0007.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        flask_migrate.upgrade(directory=MIGRATIONS_DIR, revision="0006")
        yield app
        db.session.remove()
        db.engine.dispose()


def seed_old_invites(connection: sa.Connection) -> int:
    """A room with two plaintext invites and a pending request filed with the second; the room id."""
    tables = sa.MetaData()
    tables.reflect(connection, only=["rooms", "invites", "join_requests", "users"])
    rooms, invites = tables.tables["rooms"], tables.tables["invites"]
    room_id = connection.execute(
        rooms.insert()
        .values(name="old", topic="", kind="private", created_at=THEN, last_activity_at=THEN)
        .returning(rooms.c.id)
    ).scalar_one()
    for code, approval in [(OPEN_CODE, False), (APPROVAL_CODE, True)]:
        connection.execute(
            invites.insert().values(
                code=code, room_id=room_id, uses=0, requires_approval=approval, created_at=THEN
            )
        )
    requester = connection.execute(
        tables.tables["users"]
        .insert()
        .values(username="early", display_name="", created_at=THEN)
        .returning(tables.tables["users"].c.id)
    ).scalar_one()
    connection.execute(
        tables.tables["join_requests"]
        .insert()
        .values(
            room_id=room_id, user_id=requester, invite_code=APPROVAL_CODE, status="pending", created_at=THEN
        )
    )
    return room_id


def test_upgrading_hashes_old_invite_codes_and_their_links_keep_working(app_at_0006):
    with db.engine.begin() as connection:
        room_id = seed_old_invites(connection)
    prepare_database(app_at_0006)
    with db.engine.connect() as connection:
        stored = repr(connection.execute(sa.text("SELECT * FROM invites")).all())
        stored += repr(connection.execute(sa.text("SELECT * FROM join_requests")).all())
        linked = connection.execute(sa.text("SELECT count(*) FROM join_requests WHERE invite_id IS NOT NULL"))
        assert linked.scalar_one() == 1
    assert OPEN_CODE not in stored and APPROVAL_CODE not in stored

    client = app_at_0006.test_client()
    assert client.post("/api/v1/users", json={"username": "erin", "password": PASSWORD}).status_code == 201
    token = password_token(client, "erin", PASSWORD)["access_token"]
    joined = client.post(f"/api/v1/invites/{OPEN_CODE}/accept", headers=bearer(token))
    assert joined.status_code == 200, joined.get_json()
    assert joined.get_json()["id"] == room_id
    client.delete(f"/api/v1/rooms/{room_id}/members/me", headers=bearer(token))
    asked = client.post(f"/api/v1/invites/{APPROVAL_CODE}/accept", headers=bearer(token))
    assert asked.status_code == 202, asked.get_json()
