"""`GET /metrics`: off by default, behind a bearer token when on, and what it counts.

In-process tests use an application of their own with PARLEY_METRICS_TOKEN set, on the suite's
database (users made through the usual fixtures work there too); the last test runs gunicorn
with two workers and checks that a scrape adds up what both counted.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import TestResponse

from app import create_app
from app.extensions import db
from app.extensions.jobs import register, run_all
from tests.conftest import User, bearer
from tests.processes import Processes
from tests.servers import start_parley

TOKEN = "metrics-token-for-tests-0123456789"
SCRAPE = bearer(TOKEN)


@pytest.fixture(scope="module")
def metered(app: Flask) -> Iterator[Flask]:
    metered = create_app(
        "testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], METRICS_TOKEN=TOKEN
    )
    yield metered
    with metered.app_context():
        db.engine.dispose()


@pytest.fixture
def mclient(metered: Flask) -> FlaskClient:
    return metered.test_client()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition by name and labels; parsing it also proves the format."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def scrape(client: FlaskClient | httpx.Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics", headers=SCRAPE)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return samples(response.text)


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


ME = {"method": "GET", "route": "/api/v1/users/me", "status": "200"}


def test_metrics_are_off_by_default(client):
    assert client.get("/metrics", headers=SCRAPE).status_code == 404


def test_metrics_need_the_token(mclient):
    for headers in ({}, bearer("wrong"), {"Authorization": f"Basic {TOKEN}"}, bearer(TOKEN[:-1])):
        response = mclient.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["code"] == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_short_token_is_refused_at_start():
    with pytest.raises(RuntimeError, match="PARLEY_METRICS_TOKEN"):
        create_app("testing", METRICS_TOKEN="short")


def test_requests_are_counted_per_url_rule_and_status_with_latency_buckets(mclient, alice, bob):
    before = scrape(mclient)
    for _ in range(3):
        assert mclient.get("/api/v1/users/me", headers=alice.headers).status_code == 200
    assert mclient.get("/api/v1/users/me").status_code == 401
    assert mclient.get(f"/api/v1/users/{bob.id}", headers=alice.headers).status_code == 200
    assert mclient.get("/no/such/path").status_code == 404
    after = scrape(mclient)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    count = "parley_http_request_duration_seconds_count"
    assert moved(count, **ME) == 3
    assert moved(count, **{**ME, "status": "401"}) == 1
    assert moved(count, method="GET", route="/api/v1/users/<id:user_id>", status="200") == 1
    assert moved(count, method="GET", route="<unmatched>", status="404") == 1
    assert moved("parley_http_request_duration_seconds_bucket", **ME, le="+Inf") == 3
    assert moved("parley_http_request_duration_seconds_bucket", **ME, le="10.0") == 3
    assert moved("parley_http_request_duration_seconds_sum", **ME) > 0
    assert not any(str(bob.id) in dict(labels).get("route", "") for _, labels in after)


def open_stream(client: FlaskClient, user: User) -> tuple[TestResponse, Iterator[bytes]]:
    response = client.get("/api/v1/events", headers=user.headers, buffered=False)
    chunks = response.iter_encoded()
    assert next(chunks).startswith(b"retry:")
    return response, chunks


def next_message_frame(chunks: Iterator[bytes]) -> bytes:
    frame = next(chunks)
    while b"message.created" not in frame:
        frame = next(chunks)
    return frame


def test_the_open_streams_gauge_follows_streams_and_each_live_event_records_its_lag_once(
    mclient, alice, bob, carol
):
    members = {"name": "lagging", "members": ["bob", "carol"]}
    room = mclient.post("/api/v1/rooms", json=members, headers=alice.headers)
    assert room.status_code == 201
    assert value(scrape(mclient), "parley_event_streams_open") == 0
    lag_before = value(scrape(mclient), "parley_event_lag_seconds_count")
    streams = []
    try:
        for user, open_now in ((bob, 1), (alice, 2)):
            streams.append(open_stream(mclient, user))
            assert value(scrape(mclient), "parley_event_streams_open") == open_now
        # Carol, streamless: a sender's stream would also send its read marker's event with the message.
        sent = mclient.post(
            f"/api/v1/rooms/{room.get_json()['id']}/messages", json={"body": "hi"}, headers=carol.headers
        )
        assert sent.status_code == 201
        for _, chunks in streams:
            next_message_frame(chunks)
        streams.pop()[0].close()
        assert value(scrape(mclient), "parley_event_streams_open") == 1
    finally:
        for response, _ in streams:
            response.close()
    after = scrape(mclient)
    assert value(after, "parley_event_streams_open") == 0
    assert value(after, "parley_event_lag_seconds_count") == lag_before + 1  # two streams, one event
    assert value(after, "parley_event_lag_seconds_bucket", le="30.0") == lag_before + 1


def test_scheduler_runs_are_counted_per_job_and_outcome(metered, mclient):
    def broken() -> int:
        raise RuntimeError("a job that fails, for the test")

    register(metered, "tests.broken", broken)
    try:
        before = scrape(mclient)
        with metered.app_context():
            results = run_all()
    finally:
        del metered.extensions["parley.jobs"]["tests.broken"]
    after = scrape(mclient)
    runs = "parley_scheduler_job_runs_total"
    assert results["tests.broken"] is None
    assert value(after, runs, job="tests.broken", outcome="failed") == 1
    ok = [name for name, handled in results.items() if handled is not None]
    assert ok
    for name in ok:
        assert value(after, runs, job=name, outcome="ok") - value(before, runs, job=name, outcome="ok") == 1


@pytest.mark.engine_independent  # the workers' files are the same whatever the database
def test_a_scrape_adds_up_every_gunicorn_worker(processes: Processes, server_database, tmp_path):
    """Both workers must have answered some of the requests (their files say so), and every
    scrape, whichever worker answers it, gives the total."""
    shared = tmp_path / "metrics"
    shared.mkdir()
    (shared / "counter_1.db").write_bytes(b"stale: a previous run's counts are wiped at start")
    parley = start_parley(
        processes,
        "parley",
        server_database,
        gunicorn=True,
        WEB_CONCURRENCY="2",
        PARLEY_METRICS_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(shared),
    )
    sent = 0
    while sent < 200 and len({path.stem.rsplit("_", 1)[1] for path in shared.glob("histogram_*.db")}) < 2:
        with parley.client() as http:  # a new connection each time: the workers take turns accepting
            assert http.get("/healthz").status_code == 200
        sent += 1
    assert len(list(shared.glob("histogram_*.db"))) == 2, "one worker took every connection"
    healthz = {"method": "GET", "route": "/healthz", "status": "200"}
    for _ in range(6):
        with parley.client() as http:
            found = scrape(http)
        assert value(found, "parley_http_request_duration_seconds_count", **healthz) == sent
