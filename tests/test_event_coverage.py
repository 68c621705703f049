"""Every change a client must hear about records an event: checked on the code itself.

A function under app/modules that commits must call `record(...)`, directly or through a
function of its own module that does, or be listed below with the reason it tells no one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine_independent

MODULES = Path(__file__).resolve().parent.parent / "app" / "modules"

# (file under app/modules, function): why its commit records no event.
SILENT_COMMITS = {
    # OAuth2 credentials and the caller's own clients: nothing any stream shows.
    ("auth/server.py", "save_token"): "token storage",
    ("auth/server.py", "authenticate_refresh_token"): "retires a replayed refresh token's chain",
    ("auth/server.py", "save_authorization_code"): "code storage",
    ("auth/server.py", "query_authorization_code"): "revokes what a replayed code bought",
    ("auth/server.py", "revoke_token"): "token storage",
    ("auth/services.py", "create_client"): "the caller's own OAuth2 client",
    ("auth/services.py", "delete_client"): "the caller's own OAuth2 client",
    ("events/services.py", "issue_ticket"): "a stream ticket",
    ("events/services.py", "redeem_ticket"): "a stream ticket",
    ("users/services.py", "authenticate"): "rehashes a password",
    # Seeding a fresh database: there is nobody to tell yet.
    ("auth/services.py", "ensure_builtin_clients"): "seed",
    ("rooms/services.py", "ensure_general_room"): "seed",
    # Housekeeping jobs: what they forget was already announced, or never shown.
    ("auth/services.py", "purge_dead_credentials"): "purge",
    ("events/services.py", "purge_expired"): "purge",
    ("files/services.py", "purge_unattached"): "purge",
    # A send's checks only read: their transaction ends so that its connection waits for no room.
    ("messages/services.py", "_turn_in_room"): "ends a read-only transaction",
    # Retention: clients drop expired messages themselves (docs/api.md).
    ("messages/services.py", "_sweep_batch"): "expired messages, hidden since they expired",
    # An upload is private until a message carries it (message.created shows it).
    ("files/services.py", "store"): "unattached upload",
    # Recorded by the rooms module's handlers of users.signals (member.added, member.removed,
    # user.updated).
    ("users/services.py", "create_user"): "user_created signal",
    ("users/services.py", "delete_account"): "user_deleted signal",
    ("users/services.py", "update_profile"): "user_renamed signal (user.updated)",
}


def _called_name(call: ast.Call) -> str | None:
    function = call.func
    if isinstance(function, ast.Name):
        return function.id
    return function.attr if isinstance(function, ast.Attribute) else None


def silent_commits(path: Path) -> set[str]:
    """The functions of one file that commit without recording, even through their own module's helpers.

    A function that hands `db.session.commit` to another to call (a lock's `before_waiting`) commits too.
    """
    calls: dict[str, set[str]] = {}
    committing: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            made = [sub for sub in ast.walk(node) if isinstance(sub, ast.Call)]
            calls[node.name] = {name for sub in made if (name := _called_name(sub))}
            named = (sub for sub in ast.walk(node) if isinstance(sub, ast.Attribute))
            if any(ast.unparse(sub) == "db.session.commit" for sub in named):
                committing.add(node.name)
    recording = {"record"}
    while grown := {name for name, called in calls.items() if called & recording} - recording:
        recording |= grown
    return committing - recording


def test_every_function_that_commits_records_an_event_or_is_listed_with_its_reason():
    found = {
        (path.relative_to(MODULES).as_posix(), name)
        for path in sorted(MODULES.rglob("*.py"))
        for name in silent_commits(path)
    }
    assert sorted(found - SILENT_COMMITS.keys()) == [], "commits that tell no stream: record(...) an event"
    assert sorted(SILENT_COMMITS.keys() - found) == [], "listed but no longer silent: take them off the list"


def test_the_check_sees_a_commit_without_an_event_and_one_through_a_helper(tmp_path):
    source = tmp_path / "services.py"
    source.write_text(
        "def _event(message):\n    record('message.created', {})\n\n"
        "def send(message):\n    _event(message)\n    db.session.commit()\n\n"
        "def store(upload):\n    db.session.commit()\n\n"
        "def wait(key):\n    with LOCKS.holding(key, before_waiting=db.session.commit):\n        pass\n"
    )
    assert silent_commits(source) == {"store", "wait"}
