"""File uploads over HTTP: POST /api/v1/files, GET /api/v1/files/{id}, `attachment_ids` on messages,
and what deleting messages and rooms, and the purge job, do to the files on disk (docs/api.md, Messages).

Every test stores its uploads in its own directory (UPLOAD_DIR), so what is on disk can be counted.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.extensions.jobs import run_all
from app.modules.files.models import Attachment
from app.modules.messages.models import Message
from tests.assertions import assert_error, assert_invalid, assert_utc_timestamp
from tests.bans import ban
from tests.conftest import PASSWORD, bearer
from tests.outbox import events_since, last_event_id, sending
from tests.rooms import ROOMS, create_room_id, messages_path

FILES = "/api/v1/files"
MB = 1024 * 1024
ATTACHMENT_FIELDS = {"id", "filename", "content_type", "size", "url", "created_at"}
# --- helpers -----------------------------------------------------------------------------------


def file_path(file_id: int) -> str:
    return f"{FILES}/{file_id}"


def upload(
    client,
    user=None,
    data: bytes = b"hello, file",
    filename: str = "notes.txt",
    content_type: str = "text/plain",
    *,
    headers: dict[str, str] | None = None,
):
    """POST /files with `data` as the multipart `file` field."""
    if headers is None:
        headers = user.headers if user is not None else {}
    return client.post(
        FILES,
        headers=headers,
        data={"file": (io.BytesIO(data), filename, content_type)},
        content_type="multipart/form-data",
    )


def uploaded(client, user, data: bytes = b"hello, file", **kwargs: Any) -> dict[str, Any]:
    """A new upload, made through the API."""
    response = upload(client, user, data, **kwargs)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def download(client, user, file_id: int):
    return client.get(file_path(file_id), headers=user.headers)


def send(client, user, room_id: int, body: str = "see attached", **fields: Any):
    return client.post(messages_path(room_id), headers=user.headers, json={"body": body, **fields})


def sent(client, user, room_id: int, body: str = "see attached", **fields: Any) -> dict[str, Any]:
    response = send(client, user, room_id, body, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def get_message(client, user, room_id: int, message_id: int) -> dict[str, Any]:
    response = client.get(messages_path(room_id, message_id), headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def delete_message(client, user, room_id: int, message_id: int) -> None:
    response = client.delete(messages_path(room_id, message_id), headers=user.headers)
    assert response.status_code == 204, response.get_json()


def stored_files(directory: Path) -> list[Path]:
    """Every file under `directory`, at any depth."""
    return sorted(path for path in directory.rglob("*") if path.is_file())


def attachment_rows(app, **where: Any) -> int:
    with app.app_context():
        return db.session.execute(
            select(func.count()).select_from(Attachment).filter_by(**where)
        ).scalar_one()


def message_rows(app, **where: Any) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Message).filter_by(**where)).scalar_one()


def age_upload(app, file_id: int, seconds: int) -> None:
    """Make one upload `seconds` older, as if it had been made that long ago."""
    with app.app_context():
        attachment = db.session.get(Attachment, file_id)
        assert attachment is not None
        attachment.created_at -= timedelta(seconds=seconds)
        db.session.commit()


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def upload_dir(app, tmp_path, monkeypatch) -> Path:
    """This test's own UPLOAD_DIR (the session app's config is restored afterwards)."""
    directory = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(directory))
    return directory


@pytest.fixture
def small_limit(app, monkeypatch) -> int:
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 1024)
    return 1024


@pytest.fixture
def lounge(client, alice, bob) -> int:
    """A private room alice owns, with bob in it."""
    return create_room_id(client, alice, members=["bob"])


# --- POST /files -------------------------------------------------------------------------------


def test_uploading_answers_201_with_the_file_and_its_location(client, alice):
    response = upload(client, alice, b"twelve bytes", filename="notes.txt", content_type="text/plain")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == ATTACHMENT_FIELDS
    assert isinstance(body["id"], int)
    assert {k: body[k] for k in ("filename", "content_type", "size")} == {
        "filename": "notes.txt",
        "content_type": "text/plain",
        "size": 12,
    }
    assert urlsplit(body["url"]).path == file_path(body["id"])
    assert urlsplit(response.headers["Location"]).path == file_path(body["id"])
    assert_utc_timestamp(body["created_at"])


def test_a_text_field_beside_the_upload_is_refused_as_unknown(client, alice, upload_dir):
    """Found by Schemathesis: it was ignored, though the document (like every JSON body) refuses
    fields it does not name."""
    response = client.post(
        FILES,
        data={"file": (io.BytesIO(b"hello"), "hello.txt"), "caption": "hi"},
        headers=alice.headers,
        content_type="multipart/form-data",
    )
    assert_invalid(response, "files", "caption")
    assert not any(upload_dir.rglob("*"))


def test_the_upload_is_stored_once_inside_upload_dir_with_exactly_the_bytes_sent(client, alice, upload_dir):
    data = bytes(range(256)) * 40  # binary, not text
    uploaded(client, alice, data, filename="blob.bin", content_type="application/octet-stream")
    [stored] = stored_files(upload_dir)
    assert stored.read_bytes() == data
    assert stored.resolve().is_relative_to(upload_dir.resolve())
    assert "blob" not in stored.name


def test_two_uploads_get_distinct_ids_and_files(client, alice, upload_dir):
    first = uploaded(client, alice, b"one", filename="same.txt")
    second = uploaded(client, alice, b"two", filename="same.txt")
    assert first["id"] != second["id"]
    assert [path.read_bytes() for path in stored_files(upload_dir)] in ([b"one", b"two"], [b"two", b"one"])


@pytest.mark.parametrize(
    ("sent_name", "kept_name"),
    [
        ("../../evil.html", "evil.html"),
        # On the wire, quoted-string escaped: the server reads ..\..\evil.html (a Windows path).
        (r"..\\..\\evil.html", "evil.html"),
        ("/etc/evil.html", "evil.html"),
        ("sub/dir/evil.html", "evil.html"),
    ],
    ids=["dotdot", "backslashes", "absolute", "nested"],
)
def test_a_path_in_the_filename_is_kept_as_its_base_name_and_never_used_as_a_path(
    client, alice, upload_dir, tmp_path, sent_name, kept_name
):
    body = uploaded(client, alice, b"<script>alert(1)</script>", filename=sent_name, content_type="text/html")
    assert body["filename"] == kept_name
    [stored] = stored_files(tmp_path)  # nothing escaped UPLOAD_DIR into the test's directory
    assert stored.resolve().is_relative_to(upload_dir.resolve())
    assert "evil" not in str(stored.relative_to(upload_dir))
    response = download(client, alice, body["id"])
    assert response.status_code == 200
    assert "evil.html" in response.headers["Content-Disposition"]
    assert ".." not in response.headers["Content-Disposition"]


@pytest.mark.parametrize(
    "content_type", ["image/png", "application/pdf", "text/csv"], ids=["png", "pdf", "csv"]
)
def test_the_content_type_sent_is_kept_and_served_back(client, alice, content_type):
    body = uploaded(client, alice, b"\x89PNG....", filename="file", content_type=content_type)
    assert body["content_type"] == content_type
    response = download(client, alice, body["id"])
    assert response.mimetype == content_type


def test_a_missing_file_field_is_a_422_naming_files_file(client, alice, upload_dir):
    response = client.post(
        FILES,
        headers=alice.headers,
        data={"other": (io.BytesIO(b"data"), "notes.txt", "text/plain")},
        content_type="multipart/form-data",
    )
    assert_invalid(response, "files", "file")
    assert stored_files(upload_dir) == []


def test_an_empty_multipart_body_is_a_422_naming_files_file(client, alice, upload_dir):
    response = client.post(FILES, headers=alice.headers, data={}, content_type="multipart/form-data")
    assert_invalid(response, "files", "file")
    assert stored_files(upload_dir) == []


def test_a_json_body_instead_of_multipart_is_refused_naming_the_file(app, client, alice, upload_dir):
    response = client.post(FILES, headers=alice.headers, json={"file": "aGVsbG8=", "filename": "x.txt"})
    assert response.status_code in (400, 422), response.get_json()
    body = assert_error(response, response.status_code)
    assert "file" in body["errors"]["files"]
    assert stored_files(upload_dir) == []
    assert attachment_rows(app) == 0


def test_a_file_over_max_upload_bytes_is_a_json_413_and_leaves_nothing_behind(
    app, client, alice, upload_dir, small_limit
):
    response = upload(client, alice, b"x" * (small_limit + 1))
    assert_error(response, 413)
    assert stored_files(upload_dir) == []
    assert attachment_rows(app) == 0


def test_a_file_of_exactly_max_upload_bytes_is_accepted(client, alice, upload_dir, small_limit):
    body = uploaded(client, alice, b"x" * small_limit)
    assert body["size"] == small_limit
    assert [path.stat().st_size for path in stored_files(upload_dir)] == [small_limit]


def test_the_default_limit_is_5_mb(app):
    assert app.config["MAX_UPLOAD_BYTES"] == 5 * MB


def test_a_file_of_5_mb_is_accepted_by_default(client, alice, upload_dir):
    data = b"\x00\xff" * (5 * MB // 2)
    body = uploaded(client, alice, data, filename="big.bin", content_type="application/octet-stream")
    assert body["size"] == 5 * MB
    response = download(client, alice, body["id"])
    assert response.status_code == 200
    assert response.data == data


def test_a_file_one_byte_over_5_mb_is_a_json_413_by_default(app, client, alice, upload_dir):
    response = upload(client, alice, b"x" * (5 * MB + 1), filename="big.bin")
    assert_error(response, 413)
    assert stored_files(upload_dir) == []
    assert attachment_rows(app) == 0


def test_a_request_body_over_max_content_length_is_a_json_413_before_anything_is_stored(
    app, client, alice, upload_dir, monkeypatch
):
    # Lift the file limit, so only the whole-body limit (6 MiB) can refuse it.
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 100 * MB)
    assert app.config["MAX_CONTENT_LENGTH"] == 6 * MB
    response = upload(client, alice, b"x" * (6 * MB + 1), filename="huge.bin")
    assert_error(response, 413)
    assert stored_files(upload_dir) == []
    assert attachment_rows(app) == 0


# --- GET /files/{id} ---------------------------------------------------------------------------


def test_the_uploader_downloads_the_bytes_as_an_attachment_with_its_type_and_nosniff(client, alice):
    body = uploaded(client, alice, b"a,b\n1,2\n", filename="report.csv", content_type="text/csv")
    response = download(client, alice, body["id"])
    assert response.status_code == 200
    assert response.data == b"a,b\n1,2\n"
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename=report.csv" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_html_upload_is_never_served_inline(client, alice):
    body = uploaded(client, alice, b"<script>alert(1)</script>", filename="x.html", content_type="text/html")
    response = download(client, alice, body["id"])
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_non_ascii_filename_is_kept_and_offered_in_content_disposition(client, alice):
    body = uploaded(client, alice, b"%PDF-", filename="résumé 2026.pdf", content_type="application/pdf")
    assert body["filename"] == "résumé 2026.pdf"
    disposition = download(client, alice, body["id"]).headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" + quote("résumé 2026.pdf") in disposition


def test_before_it_is_attached_only_the_uploader_can_download(client, alice, bob, lounge):
    body = uploaded(client, alice)
    assert download(client, alice, body["id"]).status_code == 200
    assert_error(download(client, bob, body["id"]), 404)  # even someone who shares a room


def test_an_unknown_file_id_is_a_404(client, alice):
    body = uploaded(client, alice)
    assert_error(download(client, alice, body["id"] + 1000), 404)


def test_after_attaching_every_member_of_the_room_can_download_and_others_cannot(
    client, alice, bob, carol, lounge
):
    body = uploaded(client, alice, b"for the room", filename="plan.txt")
    sent(client, alice, lounge, attachment_ids=[body["id"]])
    for member in (alice, bob):
        response = download(client, member, body["id"])
        assert response.status_code == 200
        assert response.data == b"for the room"
        assert "filename=plan.txt" in response.headers["Content-Disposition"]
    assert_error(download(client, carol, body["id"]), 404)


def test_a_member_who_joins_later_can_download_what_was_attached_before(client, alice, bob, carol, lounge):
    body = uploaded(client, alice, b"history")
    sent(client, alice, lounge, attachment_ids=[body["id"]])
    assert_error(download(client, carol, body["id"]), 404)
    added = client.post(f"{ROOMS}/{lounge}/members", headers=alice.headers, json={"username": "carol"})
    assert added.status_code == 201, added.get_json()
    assert download(client, carol, body["id"]).data == b"history"


def test_a_member_who_left_the_room_can_no_longer_download_even_their_own_upload(client, alice, bob, lounge):
    body = uploaded(client, bob, b"mine")
    sent(client, bob, lounge, attachment_ids=[body["id"]])
    assert download(client, bob, body["id"]).status_code == 200
    left = client.delete(f"{ROOMS}/{lounge}/members/me", headers=bob.headers)
    assert left.status_code == 204
    assert_error(download(client, bob, body["id"]), 404)
    assert download(client, alice, body["id"]).data == b"mine"


# --- attachment_ids on POST /rooms/{id}/messages -----------------------------------------------


def test_sending_with_attachment_ids_shows_the_attachments_on_the_message(client, alice, bob, lounge):
    first = uploaded(client, alice, b"1", filename="one.txt")
    second = uploaded(client, alice, b"22", filename="two.png", content_type="image/png")
    response = send(client, alice, lounge, attachment_ids=[first["id"], second["id"]])
    assert response.status_code == 201, response.get_json()
    message = response.get_json()
    assert message["attachments"] == [first, second]
    assert get_message(client, bob, lounge, message["id"])["attachments"] == [first, second]


def test_attachments_show_in_history(client, alice, bob, lounge):
    plain = sent(client, alice, lounge, "no files")
    body = uploaded(client, alice)
    with_file = sent(client, alice, lounge, attachment_ids=[body["id"]])
    history = client.get(messages_path(lounge), headers=bob.headers)
    assert history.status_code == 200
    assert {m["id"]: m["attachments"] for m in history.get_json()} == {
        plain["id"]: [],
        with_file["id"]: [body],
    }


def test_a_rooms_last_message_shows_its_attachments_in_the_room_list(client, alice, bob, lounge):
    first, second = uploaded(client, alice, b"1"), uploaded(client, alice, b"22")
    sent(client, alice, lounge, attachment_ids=[second["id"], first["id"]])
    listed = client.get(ROOMS, headers=bob.headers).get_json()
    assert {room["id"]: room["last_message"]["attachments"] for room in listed if room["last_message"]} == {
        lounge: [first, second]  # in the order uploaded, as everywhere else
    }


def test_a_reply_can_carry_attachments(client, alice, bob, lounge):
    parent = sent(client, alice, lounge, "question")
    body = uploaded(client, bob)
    reply = sent(client, bob, lounge, "answer", parent_id=parent["id"], attachment_ids=[body["id"]])
    assert reply["attachments"] == [body]
    replies = client.get(messages_path(lounge, parent["id"], "replies"), headers=alice.headers)
    assert [m["attachments"] for m in replies.get_json()] == [[body]]


def test_editing_a_message_keeps_its_attachments(client, alice, lounge):
    body = uploaded(client, alice)
    message = sent(client, alice, lounge, attachment_ids=[body["id"]])
    response = client.patch(messages_path(lounge, message["id"]), headers=alice.headers, json={"body": "new"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["attachments"] == [body]
    assert download(client, alice, body["id"]).status_code == 200


def test_message_created_event_carries_the_attachments(app, client, alice, lounge):
    body = uploaded(client, alice)
    mark = last_event_id(app)
    message = sent(client, alice, lounge, attachment_ids=[body["id"]])
    assert events_since(app, mark) == sending(message)
    assert message["attachments"] == [body]


def test_ten_attachments_are_accepted(client, alice, lounge):
    ids = [uploaded(client, alice, f"file {n}".encode(), filename=f"{n}.txt")["id"] for n in range(10)]
    message = sent(client, alice, lounge, attachment_ids=ids)
    assert [a["id"] for a in message["attachments"]] == ids


def test_eleven_attachment_ids_are_a_422_and_nothing_is_attached(app, client, alice, lounge):
    ids = [uploaded(client, alice, f"file {n}".encode())["id"] for n in range(11)]
    before = message_rows(app, room_id=lounge)
    assert_invalid(send(client, alice, lounge, attachment_ids=ids), "json", "attachment_ids")
    assert message_rows(app, room_id=lounge) == before
    assert attachment_rows(app, message_id=None) == 11


@pytest.mark.parametrize(
    "bad_ids",
    [[0], [-1], ["x"], "1", [None], [2**63]],
    ids=["zero", "negative", "string", "not-list", "null", "huge"],
)
def test_malformed_attachment_ids_are_a_422_naming_attachment_ids(app, client, alice, lounge, bad_ids):
    before = message_rows(app, room_id=lounge)
    assert_invalid(send(client, alice, lounge, attachment_ids=bad_ids), "json", "attachment_ids")
    assert message_rows(app, room_id=lounge) == before


@pytest.mark.parametrize("case", ["someone_elses", "already_attached", "unknown", "own_plus_unknown"])
def test_an_unattachable_id_is_a_422_naming_attachment_ids_and_no_message_is_created(
    app, client, alice, bob, lounge, case
):
    mine = uploaded(client, alice, b"mine")
    if case == "someone_elses":
        ids = [uploaded(client, bob, b"bob's")["id"]]
    elif case == "already_attached":
        other = uploaded(client, alice, b"used")
        sent(client, alice, lounge, "first", attachment_ids=[other["id"]])
        ids = [other["id"]]
    elif case == "unknown":
        ids = [mine["id"] + 1000]
    else:
        ids = [mine["id"], mine["id"] + 1000]
    messages_before = message_rows(app, room_id=lounge)
    events_mark = last_event_id(app)

    assert_invalid(send(client, alice, lounge, "second", attachment_ids=ids), "json", "attachment_ids")

    assert message_rows(app, room_id=lounge) == messages_before
    assert events_since(app, events_mark) == []
    # Nothing was attached: alice's own upload is still hers alone, and still attachable.
    assert download(client, alice, mine["id"]).status_code == 200
    assert_error(download(client, bob, mine["id"]), 404)
    assert sent(client, alice, lounge, attachment_ids=[mine["id"]])["attachments"] == [mine]


def test_repeating_a_send_with_its_client_msg_id_returns_the_first_message_with_its_attachments(
    app, client, alice, lounge
):
    body = uploaded(client, alice)
    fields: dict[str, Any] = {"client_msg_id": "retry-1", "attachment_ids": [body["id"]]}
    first = sent(client, alice, lounge, **fields)
    again = send(client, alice, lounge, **fields)
    assert again.status_code == 200, again.get_json()
    assert again.get_json() == first
    assert first["attachments"] == [body]
    assert message_rows(app, room_id=lounge) == 1


def test_an_upload_attached_in_one_room_cannot_be_attached_in_another(app, client, alice, bob, lounge):
    other_room = create_room_id(client, alice, "elsewhere")
    body = uploaded(client, alice)
    sent(client, alice, lounge, attachment_ids=[body["id"]])
    assert_invalid(send(client, alice, other_room, attachment_ids=[body["id"]]), "json", "attachment_ids")
    assert message_rows(app, room_id=other_room) == 0
    assert download(client, bob, body["id"]).status_code == 200


# --- deleting messages and rooms ---------------------------------------------------------------


@pytest.mark.parametrize("deleter", ["author", "room_owner"])
def test_deleting_a_message_removes_its_files_for_everyone_and_from_disk(
    app, client, alice, bob, lounge, upload_dir, deleter
):
    first = uploaded(client, bob, b"first")
    second = uploaded(client, bob, b"second")
    message = sent(client, bob, lounge, attachment_ids=[first["id"], second["id"]])
    assert len(stored_files(upload_dir)) == 2

    delete_message(client, bob if deleter == "author" else alice, lounge, message["id"])

    for user in (alice, bob):
        for body in (first, second):
            assert_error(download(client, user, body["id"]), 404)
    assert stored_files(upload_dir) == []
    assert attachment_rows(app) == 0
    tombstone = get_message(client, alice, lounge, message["id"])
    assert tombstone["deleted"] is True
    assert tombstone["attachments"] == []


def test_deleting_a_message_leaves_other_uploads_alone(client, alice, bob, lounge, upload_dir):
    same_bytes = b"identical content"
    doomed = uploaded(client, alice, same_bytes)
    kept_attached = uploaded(client, alice, same_bytes)
    kept_unattached = uploaded(client, alice, same_bytes)
    doomed_message = sent(client, alice, lounge, attachment_ids=[doomed["id"]])
    sent(client, alice, lounge, attachment_ids=[kept_attached["id"]])

    delete_message(client, alice, lounge, doomed_message["id"])

    assert download(client, bob, kept_attached["id"]).data == same_bytes
    assert download(client, alice, kept_unattached["id"]).data == same_bytes
    assert len(stored_files(upload_dir)) == 2


def test_message_deleted_event_shows_the_tombstone_without_attachments(app, client, alice, lounge):
    body = uploaded(client, alice)
    message = sent(client, alice, lounge, attachment_ids=[body["id"]])
    mark = last_event_id(app)
    delete_message(client, alice, lounge, message["id"])
    [(type_, room_id, data)] = events_since(app, mark)
    assert (type_, room_id) == ("message.deleted", lounge)
    assert data == get_message(client, alice, lounge, message["id"])
    assert data["attachments"] == []


def test_deleting_a_room_removes_its_messages_files_and_keeps_other_files(
    app, client, alice, bob, lounge, upload_dir
):
    other_room = create_room_id(client, alice, "elsewhere", members=["bob"])
    in_room = [uploaded(client, alice, b"a"), uploaded(client, bob, b"b"), uploaded(client, alice, b"c")]
    sent(client, alice, lounge, attachment_ids=[in_room[0]["id"], in_room[2]["id"]])
    sent(client, bob, lounge, attachment_ids=[in_room[1]["id"]])
    elsewhere = uploaded(client, alice, b"elsewhere")
    sent(client, alice, other_room, attachment_ids=[elsewhere["id"]])
    unattached = uploaded(client, alice, b"unattached")
    assert len(stored_files(upload_dir)) == 5

    response = client.delete(f"{ROOMS}/{lounge}", headers=alice.headers)
    assert response.status_code == 204, response.get_json()

    assert sorted(path.read_bytes() for path in stored_files(upload_dir)) == [b"elsewhere", b"unattached"]
    assert attachment_rows(app) == 2
    for body in in_room:
        assert_error(download(client, alice, body["id"]), 404)
    assert download(client, bob, elsewhere["id"]).data == b"elsewhere"
    assert download(client, alice, unattached["id"]).data == b"unattached"


def test_a_room_dropped_with_its_last_member_s_account_takes_its_files_from_disk(
    app, client, alice, bob, upload_dir
):
    solo = create_room_id(client, alice, "solo")
    body = uploaded(client, alice, b"alone")
    sent(client, alice, solo, attachment_ids=[body["id"]])
    kept = uploaded(client, bob, b"bob's")

    response = client.delete("/api/v1/users/me", headers=alice.headers, json={"current_password": PASSWORD})
    assert response.status_code == 204, response.get_json()

    assert [path.read_bytes() for path in stored_files(upload_dir)] == [b"bob's"]
    assert attachment_rows(app) == 1
    assert download(client, bob, kept["id"]).data == b"bob's"


# --- the purge job -----------------------------------------------------------------------------


def test_the_purge_job_removes_old_unattached_uploads_and_keeps_fresh_and_attached_ones(
    app, client, alice, bob, lounge, upload_dir
):
    ttl = app.config["UNATTACHED_UPLOAD_TTL_SECONDS"]
    assert ttl == 24 * 3600
    old = uploaded(client, alice, b"old")
    nearly_old = uploaded(client, alice, b"nearly old")
    fresh = uploaded(client, alice, b"fresh")
    old_attached = uploaded(client, alice, b"old attached")
    sent(client, alice, lounge, attachment_ids=[old_attached["id"]])
    age_upload(app, old["id"], ttl + 60)
    age_upload(app, nearly_old["id"], ttl - 60)
    age_upload(app, old_attached["id"], ttl + 60)

    with app.app_context():
        results = run_all()

    assert results["files.purge_unattached"] == 1
    assert_error(download(client, alice, old["id"]), 404)
    assert attachment_rows(app, id=old["id"]) == 0
    assert sorted(path.read_bytes() for path in stored_files(upload_dir)) == [
        b"fresh",
        b"nearly old",
        b"old attached",
    ]
    assert download(client, alice, fresh["id"]).data == b"fresh"
    assert download(client, alice, nearly_old["id"]).data == b"nearly old"
    assert download(client, bob, old_attached["id"]).data == b"old attached"


def test_a_purged_upload_can_no_longer_be_attached(app, client, alice, lounge):
    old = uploaded(client, alice)
    age_upload(app, old["id"], app.config["UNATTACHED_UPLOAD_TTL_SECONDS"] + 60)
    with app.app_context():
        run_all()
    assert_invalid(send(client, alice, lounge, attachment_ids=[old["id"]]), "json", "attachment_ids")


def test_the_purge_job_with_nothing_to_purge_handles_nothing(app, client, alice, upload_dir):
    uploaded(client, alice)
    with app.app_context():
        assert run_all()["files.purge_unattached"] == 0
    assert len(stored_files(upload_dir)) == 1


# --- authentication and scopes -----------------------------------------------------------------


@pytest.fixture
def alices_file(client, alice) -> int:
    return uploaded(client, alice)["id"]


def test_uploading_without_a_token_is_a_401_with_a_bearer_challenge(client, upload_dir):
    response = upload(client, headers={})
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert stored_files(upload_dir) == []


def test_uploading_with_a_garbage_token_is_a_401_invalid_token(client, upload_dir):
    response = upload(client, headers=bearer("not-a-token"))
    assert_error(response, 401)
    assert "invalid_token" in response.headers["WWW-Authenticate"]
    assert stored_files(upload_dir) == []


def test_a_banned_user_can_neither_upload_nor_attach_an_earlier_upload(
    app, client, make_user, bob, lounge, upload_dir
):
    earlier = uploaded(client, bob)
    ban(app, client, make_user, bob)
    assert_error(upload(client, bob, b"more"), 403)
    assert_error(send(client, bob, lounge, attachment_ids=[earlier["id"]]), 403)
    assert attachment_rows(app) == 1
    assert len(stored_files(upload_dir)) == 1


@pytest.mark.parametrize("scope", ["messages:read", "users:read users:write rooms:read rooms:write"])
def test_uploading_without_messages_write_is_a_403_insufficient_scope(client, alice, upload_dir, scope):
    response = upload(client, headers=bearer(alice.token_with(scope)))
    assert_error(response, 403)
    assert "insufficient_scope" in response.headers["WWW-Authenticate"]
    assert stored_files(upload_dir) == []


def test_messages_write_alone_is_enough_to_upload(client, alice):
    assert upload(client, headers=bearer(alice.token_with("messages:write"))).status_code == 201


def test_downloading_without_a_token_is_a_401_with_a_bearer_challenge(client, alices_file):
    response = client.get(file_path(alices_file))
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_downloading_with_a_garbage_token_is_a_401_invalid_token(client, alices_file):
    response = client.get(file_path(alices_file), headers=bearer("not-a-token"))
    assert_error(response, 401)
    assert "invalid_token" in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("scope", ["messages:write", "users:read users:write rooms:read rooms:write"])
def test_downloading_without_messages_read_is_a_403_insufficient_scope(client, alice, alices_file, scope):
    response = client.get(file_path(alices_file), headers=bearer(alice.token_with(scope)))
    assert_error(response, 403)
    assert "insufficient_scope" in response.headers["WWW-Authenticate"]


def test_messages_read_alone_is_enough_to_download(client, alice, alices_file):
    response = client.get(file_path(alices_file), headers=bearer(alice.token_with("messages:read")))
    assert response.status_code == 200
    assert response.data == b"hello, file"
