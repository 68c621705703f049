"""GET /api/v1/messages/search over HTTP: full-text search in the caller's rooms (docs/api.md, Messages).

Behaviour chosen here, the same on SQLite (FTS5) and PostgreSQL (tsvector): every word of `q`
must occur; words match whole (no prefixes, no stemming) and case-insensitively; operators and
quotes are ordinary characters; best match first (bm25 / ts_rank), ties newest first.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import flask_migrate
import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, text

from app import create_app
from app.extensions import db
from app.provisioning import MIGRATIONS_DIR, prepare_database
from tests.assertions import MESSAGE_FIELDS, assert_error
from tests.conftest import PASSWORD, bearer, password_token
from tests.rooms import ROOMS, create_room_id, messages_path

SEARCH = "/api/v1/messages/search"
# --- helpers -----------------------------------------------------------------------------------


def sent(client, user, room_id: int, body: str, **fields: Any) -> int:
    response = client.post(messages_path(room_id), headers=user.headers, json={"body": body, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def edit(client, user, room_id: int, message_id: int, body: str) -> None:
    response = client.patch(messages_path(room_id, message_id), headers=user.headers, json={"body": body})
    assert response.status_code == 200, response.get_json()


def delete(client, user, room_id: int, message_id: int) -> None:
    response = client.delete(messages_path(room_id, message_id), headers=user.headers)
    assert response.status_code == 204, response.get_json()


def search(client, user, q: Any = None, **params: Any):
    if q is not None:
        params["q"] = q
    return client.get(SEARCH, headers=user.headers, query_string=params)


def found(client, user, q: str, **params: Any) -> list[int]:
    """Ids of the matches, in the order given (best first)."""
    response = search(client, user, q, **params)
    assert response.status_code == 200, response.get_json()
    return [message["id"] for message in response.get_json()]


def pagination(response) -> dict[str, int]:
    return json.loads(response.headers["X-Pagination"])


def assert_invalid(response, field: str) -> None:
    assert field in assert_error(response, 422)["errors"]["query"]


def remove_member(client, by, room_id: int, user_ref: Any) -> None:
    response = client.delete(f"{ROOMS}/{room_id}/members/{user_ref}", headers=by.headers)
    assert response.status_code == 204, response.get_json()


def dialect(app) -> str:
    with app.app_context():
        return db.engine.dialect.name


@pytest.fixture
def lounge(client, alice, bob) -> int:
    """A private room alice owns, with bob in it."""
    return create_room_id(client, alice, members=["bob"])


# --- finding -----------------------------------------------------------------------------------


def test_search_answers_matching_messages_as_message_objects_with_reply_counts(client, alice, bob, lounge):
    wanted = sent(client, alice, lounge, "The quarterly report is ready")
    sent(client, bob, lounge, "Lunch at noon?")
    sent(client, bob, lounge, "Thanks for the report", parent_id=wanted)
    response = search(client, bob, "quarterly")
    assert response.status_code == 200
    [message] = response.get_json()
    assert set(message) == MESSAGE_FIELDS
    assert message["id"] == wanted
    assert message["room_id"] == lounge
    assert message["author"] == {"id": alice.id, "username": "alice", "display_name": "Alice"}
    assert message["body"] == "The quarterly report is ready"
    assert (message["reply_count"], message["deleted"], message["edited_at"]) == (1, False, None)
    assert pagination(response) == {"total": 1, "total_pages": 1, "page": 1, "page_size": 20}


def test_search_covers_every_room_of_the_caller(client, alice, bob, lounge):
    other = create_room_id(client, bob, name="other", kind="public")
    first = sent(client, alice, lounge, "deploy on friday")
    second = sent(client, bob, other, "no deploy on friday please")
    assert sorted(found(client, bob, "deploy")) == [first, second]


def test_nothing_matching_is_an_empty_page(client, alice, lounge):
    sent(client, alice, lounge, "hello world")
    response = search(client, alice, "goodbye")
    assert response.status_code == 200
    assert response.get_json() == []
    assert pagination(response)["total"] == 0


def test_a_message_matching_more_often_ranks_first_even_when_older(client, alice, lounge):
    often = sent(client, alice, lounge, "coffee, coffee and more coffee")
    sent(client, alice, lounge, "tea for everyone")
    once = sent(client, alice, lounge, "anyone for coffee now")
    assert found(client, alice, "coffee") == [often, once]


def test_equally_good_matches_come_newest_first(client, alice, lounge):
    ids = [sent(client, alice, lounge, f"standup {n}") for n in range(3)]
    assert found(client, alice, "standup") == ids[::-1]


def test_every_word_must_occur_in_any_order_and_anywhere(client, alice, lounge):
    both = sent(client, alice, lounge, "the red car and the blue bike")
    sent(client, alice, lounge, "a red bike")
    sent(client, alice, lounge, "a blue car")
    assert found(client, alice, "car red") == [both]
    assert found(client, alice, "red car blue") == [both]


def test_words_match_case_insensitively(client, alice, lounge):
    message = sent(client, alice, lounge, "Meeting with ACME Corp")
    assert found(client, alice, "acme") == [message]
    assert found(client, alice, "MEETING corp") == [message]


def test_words_match_whole_not_by_prefix_or_suffix(client, alice, lounge):
    message = sent(client, alice, lounge, "deployment finished")
    assert found(client, alice, "deploy") == []
    assert found(client, alice, "ment") == []
    assert found(client, alice, "deployment") == [message]


def test_punctuation_around_words_does_not_matter(client, alice, lounge):
    message = sent(client, alice, lounge, "Ready? Yes, ready!")
    assert found(client, alice, "ready,") == [message]
    assert found(client, alice, "(yes)") == [message]


def test_query_operators_are_ordinary_words(client, alice, lounge):
    with_or = sent(client, alice, lounge, "this or that")
    sent(client, alice, lounge, "this and that")
    assert found(client, alice, "this OR that") == [with_or]
    assert found(client, alice, "NOT") == []


def test_a_quoted_query_is_just_its_words(client, alice, lounge):
    message = sent(client, alice, lounge, "hello there world")
    assert found(client, alice, '"hello world"') == [message]


FTS_SYNTAX = [
    '"',
    '""',
    '"""',
    '"hello',
    'hello"',
    '"hello" "',
    "*",
    "hello*",
    "*hello",
    "hel*lo",
    "body:hello",
    ":",
    "body:",
    "{body}: hello",
    "OR",
    "AND",
    "NOT hello",
    "hello OR",
    "hello AND NOT",
    "NEAR",
    "NEAR(hello world)",
    "NEAR(hello world, 2)",
    "(",
    ")",
    "(hello",
    "hello)",
    "()",
    "-hello",
    "+hello",
    "^hello",
    "hello & world | !x",
    "a:* & b",
    "'",
    "''hello''",
    "\\",
    '\\"',
    "%",
    "_",
    ";",
    "\t",
    "   ",
    "' OR 1=1 --",
    '" OR ""="',
    "日本語",
    "😀",
]


@pytest.mark.parametrize("q", FTS_SYNTAX)
def test_a_query_full_of_search_syntax_answers_200(client, alice, lounge, q):
    sent(client, alice, lounge, "hello world")
    sent(client, alice, lounge, 'a "quoted" body: with (parentheses) * and OR NEAR')
    response = search(client, alice, q)
    assert response.status_code == 200, response.get_json()
    assert isinstance(response.get_json(), list)
    assert pagination(response)["total"] == len(response.get_json())


@pytest.mark.parametrize("q", ['"', "*", "()", "   ", ":"])
def test_a_query_without_words_matches_nothing(client, alice, lounge, q):
    sent(client, alice, lounge, 'a "quoted" body: with (parentheses) * and ()')
    assert found(client, alice, q) == []


@pytest.mark.parametrize("q", ["hello\x00world", "\x00"])
def test_a_nul_character_in_the_query_is_a_422_naming_q(client, alice, lounge, q):
    response = search(client, alice, q)
    assert response.status_code == 422
    assert "q" in response.get_json()["errors"]["query"]


def test_a_200_character_query_is_accepted(client, alice, lounge):
    message = sent(client, alice, lounge, "needle")
    assert found(client, alice, "needle" + " " * 194) == [message]


# --- kept in sync ------------------------------------------------------------------------------


def test_a_sent_message_is_found_at_once(client, alice, bob, lounge):
    assert found(client, bob, "breaking") == []
    message = sent(client, alice, lounge, "breaking news")
    assert found(client, bob, "breaking") == [message]


def test_an_edited_message_is_found_by_its_new_words_and_not_its_old(client, alice, bob, lounge):
    message = sent(client, alice, lounge, "see you on monday")
    edit(client, alice, lounge, message, "see you on tuesday")
    assert found(client, bob, "monday") == []
    assert found(client, bob, "tuesday") == [message]
    assert found(client, bob, "see you") == [message]
    response = search(client, bob, "tuesday")
    assert response.get_json()[0]["body"] == "see you on tuesday"
    assert response.get_json()[0]["edited_at"] is not None


def test_a_deleted_message_is_never_found(client, alice, bob, lounge):
    message = sent(client, alice, lounge, "my secret password is hunter2")
    kept = sent(client, alice, lounge, "the password policy")
    delete(client, alice, lounge, message)
    assert found(client, bob, "hunter2") == []
    assert found(client, bob, "password") == [kept]
    assert found(client, alice, "secret") == []


def test_replies_of_a_deleted_message_are_still_found(client, alice, bob, lounge):
    parent = sent(client, alice, lounge, "question")
    reply = sent(client, bob, lounge, "an answer", parent_id=parent)
    delete(client, alice, lounge, parent)
    assert found(client, alice, "answer") == [reply]


def test_messages_of_a_deleted_room_are_gone_from_search(client, alice, bob, lounge):
    other = create_room_id(client, alice, name="other", members=["bob"])
    sent(client, alice, lounge, "archive me")
    kept = sent(client, alice, other, "archive me too")
    assert client.delete(f"{ROOMS}/{lounge}", headers=alice.headers).status_code == 204
    assert found(client, bob, "archive") == [kept]


def test_the_sqlite_index_stays_consistent_with_the_messages_table(app, client, alice, bob, lounge):
    """FTS5's own check: the external-content index holds exactly the messages' current text."""
    if dialect(app) != "sqlite":
        pytest.skip("FTS5 is SQLite's")
    other = create_room_id(client, alice, name="other", members=["bob"])
    first = sent(client, alice, lounge, "one two three")
    second = sent(client, bob, lounge, "two three four", parent_id=first)
    sent(client, alice, other, "five six")
    edit(client, bob, lounge, second, "seven eight")
    delete(client, alice, lounge, first)  # a tombstone, and its reply loses nothing
    assert client.delete(f"{ROOMS}/{other}", headers=alice.headers).status_code == 204
    with app.app_context():
        db.session.execute(text("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)"))
        db.session.rollback()
    assert found(client, bob, "eight") == [second]
    assert found(client, bob, "five") == []


# --- only the caller's rooms -------------------------------------------------------------------


def test_a_non_member_never_sees_a_private_rooms_message_even_when_it_matches(client, alice, bob, carol):
    private = create_room_id(client, alice, name="board", members=["bob"])
    secret = sent(client, alice, private, "acquisition of globex next week")
    assert found(client, bob, "globex") == [secret]
    assert found(client, carol, "globex") == []
    assert found(client, carol, "acquisition globex next week") == []
    assert_error(search(client, carol, "globex", room_id=private), 404)


def test_a_public_room_you_have_not_joined_is_not_searched(client, alice, bob):
    public = create_room_id(client, alice, name="town square", kind="public")
    message = sent(client, alice, public, "open announcement")
    assert found(client, bob, "announcement") == []
    assert client.post(f"{ROOMS}/{public}/join", headers=bob.headers).status_code == 200
    assert found(client, bob, "announcement") == [message]


@pytest.mark.parametrize("how", ["kicked", "left"])
def test_a_member_who_is_removed_or_leaves_stops_seeing_the_rooms_messages(client, alice, bob, lounge, how):
    message = sent(client, bob, lounge, "my own words about zebras")
    assert found(client, bob, "zebras") == [message]
    if how == "kicked":
        remove_member(client, alice, lounge, bob.id)
    else:
        remove_member(client, bob, lounge, "me")
    assert found(client, bob, "zebras") == []
    assert_error(search(client, bob, "zebras", room_id=lounge), 404)


def test_messages_written_by_others_in_your_rooms_are_found(client, alice, bob, carol, lounge):
    sent(client, carol, create_room_id(client, carol, name="carols"), "pineapple pizza")
    message = sent(client, alice, lounge, "pineapple pizza")
    assert found(client, bob, "pineapple") == [message]


# --- room_id -----------------------------------------------------------------------------------


def test_room_id_narrows_the_search_to_that_room(client, alice, bob, lounge):
    other = create_room_id(client, bob, name="other")
    here = sent(client, alice, lounge, "budget numbers")
    there = sent(client, bob, other, "budget meeting")
    assert found(client, bob, "budget", room_id=lounge) == [here]
    assert found(client, bob, "budget", room_id=other) == [there]
    assert sorted(found(client, bob, "budget")) == [here, there]


def test_room_id_of_a_private_room_you_are_not_in_is_a_404_like_an_unknown_room(client, alice, carol, lounge):
    sent(client, alice, lounge, "budget numbers")
    invisible = assert_error(search(client, carol, "budget", room_id=lounge), 404)
    unknown = assert_error(search(client, carol, "budget", room_id=lounge + 1000), 404)
    assert invisible == unknown


def test_room_id_of_a_public_room_you_have_not_joined_is_a_403(client, alice, carol):
    public = create_room_id(client, alice, name="town square", kind="public")
    sent(client, alice, public, "budget numbers")
    assert_error(search(client, carol, "budget", room_id=public), 403)


@pytest.mark.parametrize("room_id", ["0", "-1", "abc", "1.5", str(2**31)])
def test_an_invalid_room_id_is_a_422_naming_it(client, alice, room_id):
    assert_invalid(search(client, alice, "hello", room_id=room_id), "room_id")


# --- pagination --------------------------------------------------------------------------------


def test_results_are_paginated_with_an_x_pagination_header(client, alice, lounge):
    ids = [sent(client, alice, lounge, f"ticket {n}") for n in range(5)]
    sent(client, alice, lounge, "unrelated")
    pages = []
    for page in (1, 2, 3):
        response = search(client, alice, "ticket", page=page, page_size=2)
        assert response.status_code == 200
        assert pagination(response) == {"total": 5, "total_pages": 3, "page": page, "page_size": 2}
        pages.append([message["id"] for message in response.get_json()])
    assert pages == [ids[4:2:-1], ids[2:0:-1], ids[:1]]
    beyond = search(client, alice, "ticket", page=4, page_size=2)
    assert beyond.status_code == 200 and beyond.get_json() == []
    assert pagination(beyond)["total"] == 5  # no row to carry it: counted apart


def test_pages_default_to_20_and_go_up_to_100(client, alice, lounge):
    for n in range(25):
        sent(client, alice, lounge, f"item {n}")
    assert len(found(client, alice, "item")) == 20
    response = search(client, alice, "item", page_size=100)
    assert len(response.get_json()) == 25
    assert pagination(response) == {"total": 25, "total_pages": 1, "page": 1, "page_size": 100}


@pytest.mark.parametrize(
    ("params", "bad_field"),
    [({"page_size": 101}, "page_size"), ({"page_size": 0}, "page_size"), ({"page": 0}, "page")],
)
def test_out_of_range_pagination_is_a_422_naming_the_parameter(client, alice, params, bad_field):
    assert_invalid(search(client, alice, "hello", **params), bad_field)


# --- validation and access ---------------------------------------------------------------------


@pytest.mark.parametrize("q", [None, "", "x" * 201], ids=["missing", "empty", "201 characters"])
def test_a_missing_empty_or_too_long_q_is_a_422_naming_q(client, alice, q):
    assert_invalid(search(client, alice, q), "q")


def test_no_token_is_a_401_with_a_bearer_challenge(client):
    response = client.get(SEARCH, query_string={"q": "hello"})
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_garbage_token_is_a_401_invalid_token(client):
    response = client.get(SEARCH, query_string={"q": "hello"}, headers=bearer("not-a-token"))
    assert_error(response, 401)
    assert "invalid_token" in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("q", ["hello", None], ids=["valid q", "no q: 403 before 422"])
def test_a_token_without_messages_read_is_a_403_insufficient_scope(client, alice, q):
    for wrong in ("messages:write", "users:read users:write rooms:read rooms:write"):
        headers = bearer(alice.token_with(wrong))
        response = client.get(SEARCH, query_string={"q": q} if q else None, headers=headers)
        assert_error(response, 403)
        assert "insufficient_scope" in response.headers["WWW-Authenticate"]


def test_messages_read_alone_is_enough(client, alice, lounge):
    message = sent(client, alice, lounge, "hello")
    response = client.get(
        SEARCH, query_string={"q": "hello"}, headers=bearer(alice.token_with("messages:read"))
    )
    assert response.status_code == 200
    assert [m["id"] for m in response.get_json()] == [message]


# --- the index's life: migration and query plan ------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def own_database(request, tmp_path):
    """An empty database of its own on each engine (the migration test goes up and down)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'search.db'}"
    return request.getfixturevalue("postgres_database")


def _user(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/users", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return bearer(password_token(client, username, PASSWORD)["access_token"])


OLD_SCHEMA_INSERT = "INSERT INTO messages (room_id, author_id, body, created_at) VALUES (:r, :a, :b, :t)"


def test_messages_written_before_the_index_existed_are_found_once_it_is_created(own_database):
    """Migration 0004 indexes the messages already there (downgraded past it, then upgraded again)."""
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=own_database)
    prepare_database(app)
    client = app.test_client()
    try:
        headers = _user(client, "alice")
        room = client.post(ROOMS, headers=headers, json={"name": "old"}).get_json()["id"]
        with app.app_context():
            flask_migrate.downgrade(directory=MIGRATIONS_DIR, revision="0003")
            # The models are at head now, the schema at 0003: write as 0003's code would, in SQL.
            with db.engine.begin() as connection:
                author = connection.execute(text("SELECT id FROM users WHERE username = 'alice'")).scalar()
                for body in ("written before search", "also before search", "something else"):
                    connection.execute(
                        text(OLD_SCHEMA_INSERT),
                        {"r": room, "a": author, "b": body, "t": datetime.now(UTC)},
                    )
            db.engine.dispose()
        with app.app_context():
            flask_migrate.upgrade(directory=MIGRATIONS_DIR)
            db.engine.dispose()
        response = client.get(SEARCH, headers=headers, query_string={"q": "before search"})
        assert response.status_code == 200
        assert [m["body"] for m in response.get_json()] == ["also before search", "written before search"]
        # And the index keeps up from there.
        client.post(messages_path(room), headers=headers, json={"body": "after search"})
        response = client.get(SEARCH, headers=headers, query_string={"q": "search"})
        assert len(response.get_json()) == 3
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# Messages enough for the planner to choose: PostgreSQL's read the room's whole range of the room
# index (at 10⁶ messages, ANDed with the full-text index per room), for the page and again for its
# count (bench/growth.py).
FILLER = (
    "WITH RECURSIVE series(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM series WHERE i < :count) "
    "INSERT INTO messages (room_id, author_id, body, created_at) "
    "SELECT :room, :author, 'filler ' || i, :now FROM series"
)


def test_search_reads_the_full_text_index_alone_and_counts_with_the_page(app, client, alice, lounge):
    with app.app_context():
        author = db.session.scalar(text("SELECT id FROM users WHERE username = 'alice'"))
        values = {"count": 2_000, "room": lounge, "author": author, "now": datetime.now(UTC)}
        db.session.execute(text(FILLER), values)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE messages")
    for n in range(30):
        sent(client, alice, lounge, f"row {n} {'match' if n % 3 == 0 else 'other'}")
    statements: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if re.search(r"messages_fts|search_vector", statement):
            statements.append((statement, parameters))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            response = search(client, alice, "match", room_id=lounge, page_size=4)
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        assert len(response.get_json()) == 4 and pagination(response)["total"] == 10
        assert len(statements) == 1  # the total comes with the page
        connection = db.session.connection()
        sql, parameters = statements[0]
        if connection.dialect.name == "sqlite":
            plan = [row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters)]
            assert any(re.match(r"SCAN messages_fts VIRTUAL TABLE INDEX", line) for line in plan), plan
            assert not any(re.match(r"SCAN messages\b", line) for line in plan), plan
        else:  # whatever the statistics say of this table, could the plan take another way?
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = [row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}", parameters)]
            assert any("ix_messages_search_vector" in line for line in plan), plan
            assert not any(re.search(r"ix_messages_room_id|BitmapAnd", line) for line in plan), plan
