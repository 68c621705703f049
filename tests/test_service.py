"""Service endpoints and the error shape shared by every endpoint."""

import logging
import time

import pytest
from flask import request_started
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app import create_app
from app.extensions import logging as access_logging
from app.extensions.database import db
from app.extensions.logging import RequestIdFilter


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["database"] == "ok"


def test_every_response_carries_a_request_id(client):
    assert len(client.get("/healthz").headers["X-Request-ID"]) == 32


def test_a_well_formed_incoming_request_id_is_kept(client):
    assert client.get("/healthz", headers={"X-Request-ID": "edge-42"}).headers["X-Request-ID"] == "edge-42"


@pytest.mark.parametrize("incoming", [{"X-Request-ID": "edge-7"}, {}])
def test_a_log_line_within_a_request_carries_the_request_id_of_its_answer(app, client, incoming):
    within: list[str] = []

    def log_a_line(sender: object, **extra: object) -> None:
        record = logging.LogRecord("parley.test", logging.INFO, __file__, 0, "within", None, None)
        RequestIdFilter().filter(record)
        within.append(record.__dict__["request_id"])  # set by the filter

    with request_started.connected_to(log_a_line, app):
        response = client.get("/healthz", headers=incoming)
    assert within == [response.headers["X-Request-ID"]]
    assert within != ["-"]


def access_records(client, caplog, times: int) -> list[logging.LogRecord]:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="parley.access"):
        responses = [client.get("/healthz") for _ in range(times)]
    records = [record for record in caplog.records if record.name == "parley.access"]
    assert [record.request_id for record in records] == [r.headers["X-Request-ID"] for r in responses]
    return records


def test_each_access_line_is_the_record_logging_would_make_with_its_own_time(client, caplog):
    client.get("/healthz")  # this process's first access line made: the next ones copy it
    time.sleep(0.01)
    before = time.time()
    records = access_records(client, caplog, 3)
    made = logging.getLogger("parley.access").makeRecord(
        "parley.access", logging.INFO, access_logging.__file__, 0, access_logging.ACCESS, (), None
    )
    # Its time and arguments its own; `message` and `asctime` are what formatting it left on it.
    times = {"created", "msecs", "relativeCreated", "args", "request_id", "message", "asctime"}
    for record in records:
        assert type(record) is logging.LogRecord
        assert {k: v for k, v in vars(record).items() if k not in times} == {
            k: v for k, v in vars(made).items() if k not in times
        }
        assert record.getMessage().startswith("GET /healthz 200 ")
        assert record.msecs == int((record.created - int(record.created)) * 1000)
        assert abs(record.relativeCreated - made.relativeCreated) < 5000
    assert before <= records[0].created <= records[1].created <= records[2].created <= made.created


def test_an_operators_record_factory_makes_the_access_lines_too(client, caplog):
    class Tagged(logging.LogRecord):
        pass

    default = logging.getLogRecordFactory()
    logging.setLogRecordFactory(Tagged)
    try:
        records = access_records(client, caplog, 2)
    finally:
        logging.setLogRecordFactory(default)
    assert [type(record) for record in records] == [Tagged, Tagged]


def test_unknown_path_is_a_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["code"] == 404
    assert response.get_json()["status"] == "Not Found"
    assert response.get_json()["message"]


def test_wrong_method_is_a_json_405(client):
    response = client.put("/api/v1/users")
    assert response.status_code == 405
    assert response.get_json()["code"] == 405
    assert "Allow" in response.headers


def test_malformed_json_is_a_400_naming_the_body(client):
    response = client.post("/api/v1/users", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"json": ["Invalid JSON body."]}


def test_a_form_body_where_json_is_expected_is_a_400(client):
    response = client.post("/api/v1/users", data={"username": "alice", "password": "x" * 10})
    assert response.status_code == 400
    assert "Content-Type" in response.get_json()["errors"]["headers"]


def test_a_body_over_the_limit_is_a_json_413(client, app):
    size = app.config["MAX_JSON_BODY_BYTES"] + 1
    response = client.post(
        "/api/v1/users", data='{"username": "' + "a" * size + '"}', content_type="application/json"
    )
    assert response.status_code == 413
    assert response.get_json()["code"] == 413


def test_a_body_over_the_request_limit_is_a_json_413(client, app):
    response = client.post(
        "/api/v1/users",
        data=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1),
        content_type="application/octet-stream",
    )
    assert response.status_code == 413
    assert response.is_json


def test_an_unhandled_exception_is_a_json_500_logged_with_the_request_id(caplog):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://", PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom", headers={"X-Request-ID": "trace-500"})
    assert response.status_code == 500
    assert response.get_json()["code"] == 500
    assert "secret internals" not in response.get_data(as_text=True)
    logged = [r for r in caplog.records if r.levelname == "ERROR" and r.exc_info]
    assert logged and all(r.request_id == "trace-500" for r in logged)


def test_readyz_reports_redis_when_configured(app, redis_url):
    configured = create_app(
        "testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=redis_url
    )
    body = configured.test_client().get("/readyz").get_json()
    assert body["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_is_a_degraded_200_logged_once_while_redis_is_unreachable(app, caplog):
    """Every instance shares the one Redis, and serves everything without it: stay in rotation."""
    unreachable = "redis://127.0.0.1:1/0"
    configured = create_app(
        "testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=unreachable
    )
    for _ in range(3):
        response = configured.test_client().get("/readyz")
        assert response.status_code == 200
        assert response.get_json() == {
            "status": "degraded",
            "checks": {"database": "ok", "redis": "unreachable"},
        }
    assert [r.getMessage() for r in caplog.records if r.levelname != "INFO"] == [
        "Redis: unreachable (Error 111 connecting to 127.0.0.1:1. Connection refused.); "
        "degraded until it answers again"
    ]


UNREACHABLE_DATABASES = {
    "sqlite": "sqlite:////nonexistent-dir/parley.db",
    "postgresql": "postgresql+psycopg://parley@127.0.0.1:1/parley",
}


@pytest.fixture(params=sorted(UNREACHABLE_DATABASES))
def unreachable_database(request):
    return create_app("testing", SQLALCHEMY_DATABASE_URI=UNREACHABLE_DATABASES[request.param])


def test_readyz_is_503_when_the_database_is_unreachable(unreachable_database):
    response = unreachable_database.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    assert response.get_json()["checks"]["database"] == "unreachable"


def test_an_unreachable_database_is_a_503_with_retry_after_logged_once(unreachable_database, caplog):
    client = unreachable_database.test_client()
    for _ in range(3):
        response = client.get("/api/v1/users/me", headers={"Authorization": "Bearer some-token"})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "2"
        assert response.get_json() == {
            "code": 503,
            "status": "Service Unavailable",
            "message": "The database is unavailable; retry after the Retry-After delay.",
        }
    logged = [r for r in caplog.records if r.levelname != "INFO"]
    assert len(logged) == 1, [r.getMessage() for r in logged]
    assert logged[0].getMessage().startswith("database: unreachable (")
    assert logged[0].exc_info is None


def test_a_connection_the_database_dropped_is_one_503_and_the_next_request_gets_a_new_one(app, alice):
    """The bearer check runs on the driver's cursor (`Prepared`): a connection PostgreSQL ended is
    still SQLAlchemy's error (the outage's 503, not a 500), and the pool does not hand it out again.
    (A stream's opening runs the same way; streams also start threads that use the pool when they
    like, which would make the test's dropped connection anyone's.)"""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        pytest.skip("only PostgreSQL can end one pooled connection from outside")
    single = create_app("testing", SQLALCHEMY_DATABASE_URI=url, DB_POOL_SIZE=1)
    client = single.test_client()
    assert client.get("/api/v1/users/me", headers=alice.headers).status_code == 200
    with single.app_context(), db.engine.connect() as pooled:
        backend = pooled.execute(text("SELECT pg_backend_pid()")).scalar_one()
    outside = create_engine(url, poolclass=NullPool)
    with outside.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    answers = [client.get("/api/v1/users/me", headers=alice.headers) for _ in range(2)]
    assert [a.status_code for a in answers] == [503, 200]
    assert answers[0].get_json()["message"].startswith("The database is unavailable")
    with single.app_context():
        db.engine.dispose()
    outside.dispose()


def test_a_nul_character_in_a_json_body_is_a_422_naming_the_field(client):
    response = client.post("/api/v1/users", json={"username": "nul", "password": "long\x00enough"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "json": {"password": ["NUL characters and unpaired surrogates are not allowed."]}
    }
    assert client.post("/api/v1/users", json={"username": "nul", "password": "longenough"}).status_code == 201


@pytest.mark.parametrize(
    "path",
    ["/api/v1/users?q=al%00ice", "/api/v1/rooms?page_size=5&q=al%00ice", "/api/v1/rooms?scope=mine&q=a%00"],
)
def test_a_nul_character_in_a_query_string_is_a_422_naming_the_parameter(client, alice, path):
    """Whatever the parameter: one the endpoint ignores is refused too."""
    response = client.get(path, headers=alice.headers)
    assert response.status_code == 422
    assert "q" in response.get_json()["errors"]["query"]
