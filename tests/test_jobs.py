"""Periodic jobs: what the credential purge deletes and keeps; how the scheduler runs jobs."""

import logging
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from app.extensions import db, jobs
from app.extensions.jobs import SchedulerJob, run_all
from app.modules.auth.models import OAuth2Token
from tests.conftest import PASSWORD, age_tokens, password_token

DAY = 24 * 3600


def refresh(client, refresh_token):
    return client.post(
        "/auth/oauth2/token",
        data={"grant_type": "refresh_token", "client_id": "documentation", "refresh_token": refresh_token},
    )


def purge(app):
    with app.app_context():
        return run_all()["auth.purge_dead_credentials"]


def token_rows(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OAuth2Token))


def test_purge_keeps_tokens_that_still_work(app, client, alice):
    assert purge(app) == 0
    assert client.get("/api/v1/users/me", headers=alice.headers).status_code == 200


def test_purge_keeps_a_retired_refresh_token_so_its_replay_is_still_caught(app, client, alice):
    rotated = refresh(client, alice.refresh_token).get_json()
    age_tokens(app, 2 * 3600)  # every access token has expired; refresh tokens have not
    assert purge(app) == 0
    assert refresh(client, alice.refresh_token).status_code == 400  # the replay
    assert refresh(client, rotated["refresh_token"]).status_code == 400  # ... revoked the chain


def test_purge_deletes_tokens_whose_access_and_refresh_have_both_expired(app, client, alice):
    password_token(client, alice.username, PASSWORD)
    assert token_rows(app) == 2
    age_tokens(app, 31 * DAY)
    assert purge(app) == 2
    assert token_rows(app) == 0


def test_purge_deletes_a_revoked_access_token_without_a_refresh_token(app, client, alice):
    bot = client.post("/api/v1/auth/clients", json={"name": "bot"}, headers=alice.headers).get_json()
    issued = client.post(
        "/auth/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(bot["client_id"], bot["client_secret"]),
    ).get_json()
    client.post(
        "/auth/oauth2/revoke",
        data={"token": issued["access_token"]},
        auth=(bot["client_id"], bot["client_secret"]),
    )
    assert purge(app) == 1
    assert client.get("/api/v1/users/me", headers=alice.headers).status_code == 200


# --- the scheduler ---------------------------------------------------------------------------


def run_due(app, now):
    with app.app_context():
        return jobs.run_due(now)


def test_the_scheduler_runs_each_job_once_per_interval(app):
    now = datetime.now(UTC)
    housekeeping = app.config["JOBS_INTERVAL_SECONDS"]
    assert set(run_due(app, now)) == set(app.extensions["parley.jobs"])
    assert run_due(app, now) == {}
    assert set(run_due(app, now + timedelta(seconds=1))) == {"messages.publish_scheduled"}
    assert "auth.purge_dead_credentials" in run_due(app, now + timedelta(seconds=housekeeping))


def test_a_job_another_process_holds_is_skipped_until_its_lease_expires(app):
    now = datetime.now(UTC)
    run_due(app, now)
    with app.app_context():
        db.session.execute(
            update(SchedulerJob)
            .where(SchedulerJob.name == "auth.purge_dead_credentials")
            .values(leased_by="elsewhere", leased_until=now + timedelta(hours=1))
        )
        db.session.commit()
        assert "auth.purge_dead_credentials" not in run_all()
    later = now + timedelta(hours=1, seconds=1)
    assert "auth.purge_dead_credentials" in run_due(app, later)


def test_each_run_is_logged_with_what_the_job_did(app, caplog):
    with caplog.at_level(logging.INFO, logger="app.extensions.jobs"):
        run_due(app, datetime.now(UTC))
    assert re.search(r"job auth\.purge_dead_credentials handled 0 in [0-9.]+ s", caplog.text)
